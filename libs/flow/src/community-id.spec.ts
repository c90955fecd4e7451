import { createHash } from 'node:crypto';
import { communityId, communityIdInScope, communityIdScope, sha1Base64 } from './community-id';

// Deterministic pseudo-random bytes (xorshift32), so a failure names a reproducible input.
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('sha1Base64 (one-block SHA-1 of the Community ID input)', () => {
  it.each(Array.from({ length: 56 }, (_, n) => n))('matches node:crypto for %i bytes', (n) => {
    for (const seed of [1, 0xdeadbeef, n * 7919 + 3]) {
      const msg = bytes(n, seed);
      expect(sha1Base64(msg, n)).toBe(createHash('sha1').update(msg).digest('base64'));
    }
  });

  it('hashes only the first len bytes of the buffer', () => {
    const msg = bytes(40, 42);
    expect(sha1Base64(msg, 12)).toBe(createHash('sha1').update(msg.subarray(0, 12)).digest('base64'));
  });
});

describe('communityId', () => {
  // The reference: the spec's input layout hashed by node:crypto (what this module did before).
  function reference(src: Buffer, dst: Buffer, proto: number, sp: number, dp: number): string {
    const swap = Buffer.compare(src, dst) > 0 || (Buffer.compare(src, dst) === 0 && sp > dp);
    const [a, b, p, q] = swap ? [dst, src, dp, sp] : [src, dst, sp, dp];
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(p, 0);
    ports.writeUInt16BE(q, 2);
    const input = Buffer.concat([Buffer.from([0, 0]), a, b, Buffer.from([proto, 0]), ports]);
    return `1:${createHash('sha1').update(input).digest('base64')}`;
  }

  it.each([
    ['10.0.0.1', '10.0.0.2', 6, 40000, 443],
    ['192.168.7.9', '10.1.2.3', 17, 53, 5353],
    ['2001:db8::1', '2001:db8::2', 6, 1, 65535],
    ['fe80::1:2:3:4', '::1', 132, 9, 8],
  ])('%s → %s proto %i agrees with a node:crypto reference', (s, d, proto, sp, dp) => {
    const toBuf = (ip: string): Buffer => {
      if (!ip.includes(':')) return Buffer.from(ip.split('.').map(Number));
      const [h, r] = ip.split('::') as [string, string | undefined];
      const hs = h ? h.split(':') : [];
      const rs = r ? r.split(':') : [];
      const groups = [...hs, ...Array<string>(8 - hs.length - rs.length).fill('0'), ...rs];
      const out = Buffer.alloc(16);
      groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
      return out;
    };
    expect(communityId(s, d, proto, sp, dp)).toBe(reference(toBuf(s), toBuf(d), proto, sp, dp));
  });
});

describe('communityIdInScope', () => {
  it('gives what communityId gives, for both directions, repeats and slot collisions, in and across scopes', () => {
    const tuples: Array<[string, string, number, number, number]> = [];
    for (let i = 0; i < 300; i++) {
      const a = `10.0.${i & 7}.${(i * 37) & 255}`;
      const b = i % 5 === 0 ? '2001:db8::1' : `192.168.${i & 3}.1`;
      const proto = [6, 17, 1, 58, 47][i % 5]!;
      tuples.push(b.includes(':') ? [`2001:db8::${i}`, b, proto, i & 255, 0] : [a, b, proto, 1024 + i, 443]);
    }
    for (let round = 0; round < 3; round++) {
      if (round > 0) communityIdScope();
      for (const [s, d, proto, sp, dp] of tuples) {
        expect(communityIdInScope(s, d, proto, sp, dp)).toBe(communityId(s, d, proto, sp, dp));
        expect(communityIdInScope(d, s, proto, dp, sp)).toBe(communityId(d, s, proto, dp, sp));
      }
    }
    expect(communityIdInScope('not-an-ip', '10.0.0.1', 6, 1, 2)).toBeUndefined();
    expect(communityIdInScope('10.0.0.1', '2001:db8::1', 6, 1, 2)).toBeUndefined();
  });
});
