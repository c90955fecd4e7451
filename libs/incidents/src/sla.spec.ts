import { DEFAULT_SLA, parseSlaPolicy, slaBreached, slaDeadlines } from './sla';

describe('SLA deadlines', () => {
  it('gives a critical incident 15 minutes to be claimed and 4 hours to be resolved', () => {
    expect(slaDeadlines('critical', 0)).toEqual([
      { kind: 'acknowledge', dueMs: 15 * 60_000 },
      { kind: 'resolve', dueMs: 4 * 3_600_000 },
    ]);
  });
  it('sets no timer for informational incidents', () => expect(slaDeadlines('informational', 0)).toEqual([]));

  it.each([
    ['acknowledge', 'new', true],
    ['acknowledge', 'acknowledged', false],
    ['resolve', 'in_progress', true],
    ['resolve', 'acknowledged', true],
    ['resolve', 'duplicate', false],
    ['resolve', 'resolved', false],
    ['resolve', 'false_positive', false],
  ] as const)('%s deadline with status %s is breached: %s', (kind, status, breached) => {
    expect(slaBreached(kind, status)).toBe(breached);
  });
});

describe('parseSlaPolicy', () => {
  it('overrides listed severities and keeps the rest', () => {
    const p = parseSlaPolicy('critical=5/60, low=-/-');
    expect(p.critical).toEqual({ acknowledgeMinutes: 5, resolveMinutes: 60 });
    expect(p.low).toEqual({ acknowledgeMinutes: null, resolveMinutes: null });
    expect(p.high).toEqual(DEFAULT_SLA.high);
  });
  it('refuses a malformed entry', () => expect(() => parseSlaPolicy('urgent=5/60')).toThrow(/bad SLA entry/));
});
