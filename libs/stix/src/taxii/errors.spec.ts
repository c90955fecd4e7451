import { type StixObject } from '../types';
import { TaxiiError, codeForStatus, isRetryable, parseRetryAfter } from './errors';
import { splitEnvelopes } from './split';

describe('isRetryable', () => {
  it.each([
    [500, 'server_error', true],
    [502, 'server_error', true],
    [503, 'server_error', true],
    [429, 'rate_limited', true],
    [400, 'bad_request', false],
    [401, 'unauthorized', false],
    [403, 'forbidden', false],
    [404, 'not_found', false],
    [406, 'not_acceptable', false],
    [413, 'payload_too_large', false],
    [415, 'unsupported_media_type', false],
    [422, 'unprocessable', false],
    [409, 'client_error', false],
  ] as const)('HTTP %i → %s, retryable %s', (status, code, retry) => {
    expect(codeForStatus(status)).toBe(code);
    expect(isRetryable(new TaxiiError(codeForStatus(status), 'x', status))).toBe(retry);
  });

  it.each([
    ['network_error', true],
    ['timeout', true],
    ['tls_error', false],
    ['status_incomplete', true],
    ['bad_response', false],
    ['object_too_large', false],
    ['not_writable', false],
  ] as const)('%s → %s', (code, retry) => {
    expect(isRetryable(new TaxiiError(code, 'x'))).toBe(retry);
  });

  it('treats raw socket errors as network trouble and anything else as permanent', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isRetryable(reset)).toBe(true);
    expect(isRetryable(new Error('bug'))).toBe(false);
    const badCert = Object.assign(new Error('unable to verify'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(isRetryable(badCert)).toBe(false);
    expect(isRetryable('string')).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 08:00:10 GMT', Date.parse('2026-11-27T08:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('splitEnvelopes', () => {
  const obj = (n: number, pad: number): StixObject => ({
    type: 'note',
    id: `note--${n}`,
    content: 'x'.repeat(pad),
  });
  const size = (objs: StixObject[]): number => Buffer.byteLength(JSON.stringify({ objects: objs }));

  it('keeps order and fits every envelope in the limit, exactly at the boundary too', () => {
    const objs = Array.from({ length: 20 }, (_, i) => obj(i, 37 * (i % 5)));
    const largest = Math.max(...objs.map((o) => size([o])));
    for (const max of [largest, 300, 512, 1000, size(objs)]) {
      const envs = splitEnvelopes(objs, max);
      expect(envs.flat()).toEqual(objs);
      for (const e of envs) expect(size(e)).toBeLessThanOrEqual(max);
    }
    expect(splitEnvelopes(objs, size(objs))).toHaveLength(1);
    expect(splitEnvelopes(objs, size(objs) - 1)).toHaveLength(2);
  });

  it('no limit means one envelope; nothing means none', () => {
    expect(splitEnvelopes([obj(1, 1), obj(2, 2)], 0)).toHaveLength(1);
    expect(splitEnvelopes([], 100)).toEqual([]);
  });

  it('refuses an object that cannot fit alone', () => {
    expect(() => splitEnvelopes([obj(1, 500)], 100)).toThrow(
      expect.objectContaining({ code: 'object_too_large' }),
    );
  });
});
