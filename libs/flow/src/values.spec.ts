import { ipv6, isoTime, uint } from './values';

describe('isoTime', () => {
  it.each([
    0, 1, 999, 951_782_400_000, 1_709_164_800_123, 1_714_557_604_000, 4_102_444_799_999, -1, -86_400_001,
    253_402_300_799_999,
  ])('renders %d exactly as Date#toISOString', (ms) => {
    expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('matches Date#toISOString over a sweep of days and times', () => {
    let mismatches = 0;
    for (let ms = -2_000_000_000_000; ms < 5_000_000_000_000; ms += 7_777_777_777) {
      if (isoTime(ms) !== new Date(ms).toISOString()) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('stays exact through its per-second prefix cache (same second, colliding slots, outside 0000-9999)', () => {
    const base = 1_714_557_604_000;
    const seq = [
      base,
      base + 1,
      base + 999,
      base + 8000, // same cache slot, another second
      base + 17,
      base - 1,
      base + 8000 + 5,
      253_402_300_800_000, // year 10000: Date's extended form, never cached
      253_402_300_800_001,
      -62_198_755_200_000 + 12, // year 0000
      base + 0.5, // fractional ms bypass the cache
    ];
    for (let round = 0; round < 3; round++)
      for (const ms of seq) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('ipv6', () => {
  it.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
  ])('formats %s as %s (RFC 5952)', (hexAddr, want) => {
    expect(ipv6(Buffer.from(hexAddr, 'hex'), 0)).toBe(want);
  });
});

describe('uint', () => {
  it.each([
    ['01', 1],
    ['0102', 258],
    ['010203', 66051],
    ['01020304', 16909060],
    ['0000010203040506', 1108152157446],
  ])('reads %s big-endian (reduced-size encoding)', (h, want) => {
    expect(uint(Buffer.from(h, 'hex'), 0, h.length / 2)).toBe(want);
  });
});
