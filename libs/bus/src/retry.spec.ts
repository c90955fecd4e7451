import { backoffMs, isRetryableBusError } from './retry';

describe('isRetryableBusError', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  it.each([
    ['a publish timeout', withCode('TIMEOUT', 'TIMEOUT'), true],
    ['no responders while the stream leader moves', withCode('503', '503'), true],
    ['jetstream disabled during an election', new Error('jetstream is not enabled'), true],
    ['a closed connection', withCode('CONNECTION_CLOSED', 'CONNECTION_CLOSED'), true],
    ['an invalid subject', withCode('invalid subject', 'BAD_SUBJECT'), false],
    ['a non-error value', 'boom', false],
  ])('%s → %s', (_name, err, expected) => {
    expect(isRetryableBusError(err)).toBe(expected);
  });
});

describe('backoffMs', () => {
  it('grows with the attempt and stays under the cap', () => {
    for (let a = 0; a < 20; a++) {
      const v = backoffMs(a, 100, 5000);
      expect(v).toBeGreaterThanOrEqual(Math.min(5000, 100 * 2 ** a) / 2);
      expect(v).toBeLessThanOrEqual(5000);
    }
  });
});
