import { createHash } from 'node:crypto';
import { alertId, eventId, stableId } from './ids';

/** The original definition: SHA-256 over 4-byte big-endian length + bytes of each part, streamed. */
function reference(...parts: Array<string | number | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const buf = typeof p === 'string' || typeof p === 'number' ? Buffer.from(String(p)) : Buffer.from(p);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    h.update(len).update(buf);
  }
  return h.digest('hex').slice(0, 32);
}

describe('stableId', () => {
  it.each<[string, Array<string | number | Uint8Array>]>([
    ['no parts', []],
    ['one empty string', ['']],
    ['ascii and a number', ['ev', 'rule-1', 42]],
    ['non-ASCII text', ['ev', 'Thành phố Hồ Chí Minh', '💡']],
    ['a Uint8Array that is not a Buffer', ['ev', '10.0.0.1', new Uint8Array([0, 255, 10, 13])]],
    ['a Buffer view into a larger buffer', ['ev', Buffer.from('xxhello worldxx').subarray(2, 13)]],
    ['a fractional number', ['ac', 1.5, -3]],
  ])('hashes the same bytes as the streaming definition (%s)', (_name, parts) => {
    expect(stableId(...parts)).toBe(reference(...parts));
  });

  it('keeps the published event ids and alert ids (golden values)', () => {
    const raw = Buffer.from('<13>1 2026-11-27T10:00:00Z h app - - - same');
    expect(eventId('10.0.0.1', raw)).toBe(reference('ev', '10.0.0.1', raw));
    expect(eventId('10.0.0.1', raw, 2)).toBe(reference('ev', '10.0.0.1', raw, 2));
    expect(eventId('10.0.0.1', raw)).not.toBe(eventId('10.0.0.1', raw, 1));
    expect(alertId('r', '1', 'e')).toBe(reference('al', 'r', '1', 'e'));
    // Literal values computed with the streaming definition before it was replaced: ids already stored stay valid.
    expect(eventId('10.0.0.1', raw)).toBe('da4a29722c0c96b05c011e5f3316db62');
    expect(eventId('10.0.0.1', raw, 2)).toBe('af286b7c0ea056c9130b6e310a7f2fc0');
  });
});
