import { backoffDelay, RetryLater } from './outbox';
import { decide } from './policy';
import { Form03Error, parseForm03 } from './form03';
import { summaryPeriod } from './summary';

const P = { levels: ['high', 'critical'], categories: ['malicious-code', 'fraud:phishing'], units: ['ttdl'] };
const base = {
  severity: 'low',
  category: 'other:undetermined' as const,
  unitIds: [] as string[],
  requested: false,
  drill: false,
};

describe('reporting policy', () => {
  it.each([
    [{ severity: 'high' }, true, 'level high'],
    [{ severity: 'critical' }, true, 'level critical'],
    [{ severity: 'medium' }, false, 'below the reporting policy'],
    [{ category: 'malicious-code:c2-server' }, true, 'category malicious-code:c2-server'],
    [{ category: 'fraud:phishing' }, true, 'category fraud:phishing'],
    [{ category: 'fraud:copyright' }, false, 'below the reporting policy'],
    [{ unitIds: ['hanoi', 'ttdl'] }, true, 'unit ttdl'],
    [{ requested: true }, true, 'requested by a lead'],
  ] as const)('%j → %s', (over, report, because) => {
    expect(decide({ ...base, ...over }, P)).toEqual({ report, because });
  });
});

describe('delivery backoff', () => {
  const s = { baseMs: 1000, maxMs: 60_000 };
  it('doubles per attempt within [half, full] of the step, capped', () => {
    for (const [attempt, step] of [
      [1, 1000],
      [2, 2000],
      [5, 16_000],
      [7, 60_000],
      [30, 60_000],
    ] as const) {
      expect(backoffDelay(attempt, s, undefined, () => 0)).toBe(step / 2);
      expect(backoffDelay(attempt, s, undefined, () => 1)).toBe(step);
    }
  });
  it("waits at least the server's Retry-After, never beyond the cap", () => {
    expect(backoffDelay(1, s, new RetryLater('429', 30_000), () => 0)).toBe(30_000);
    expect(backoffDelay(1, s, new RetryLater('429', 3_600_000), () => 0)).toBe(60_000);
  });
});

describe('summary periods', () => {
  it.each([
    ['daily', '2026-11-27T00:15:00Z', '2026-11-26T00:00:00.000Z', '2026-11-27T00:00:00.000Z'],
    ['daily', '2026-01-01T00:15:00Z', '2025-12-31T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['six-monthly', '2026-07-01T00:30:00Z', '2026-01-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
    ['six-monthly', '2026-01-01T00:30:00Z', '2025-07-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['six-monthly', '2026-11-27T10:00:00Z', '2026-01-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
    ['yearly', '2026-01-01T00:45:00Z', '2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
  ] as const)('%s at %s covers [%s, %s)', (label, at, start, end) => {
    expect(summaryPeriod(label, new Date(at))).toEqual({ start, end });
  });
});

describe('Mẫu 03 fields from the API', () => {
  it('keeps valid fields and normalises times', () => {
    expect(
      parseForm03({
        systemSecurityLevel: 3,
        handled: false,
        detectedAt: '2026-11-27T08:00:00+07:00',
        notifiedParties: ['isp', 'isp'],
        services: ['web'],
      }),
    ).toEqual({
      systemSecurityLevel: 3,
      handled: false,
      detectedAt: '2026-11-27T01:00:00.000Z',
      notifiedParties: ['isp'],
      services: ['web'],
    });
  });
  it.each([
    [{ unknown: 'x' }],
    [{ systemSecurityLevel: 6 }],
    [{ handled: 'yes' }],
    [{ notifiedParties: ['police'] }],
    [{ detectedAt: 'yesterday' }],
    [{ summary: 'x'.repeat(4001) }],
    [[]],
  ])('refuses %j', (input) => {
    expect(() => parseForm03(input)).toThrow(Form03Error);
  });
});
