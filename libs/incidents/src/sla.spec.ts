import {
  addBusinessMinutes,
  DEFAULT_SLA,
  parseBusinessHours,
  parseSlaPolicies,
  parseSlaPolicy,
  slaBreached,
  slaPolicyFor,
  slaDeadlines,
} from './sla';

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

describe('business hours (Asia/Ho_Chi_Minh, UTC+7)', () => {
  const bh = parseBusinessHours('days=mon-fri;hours=08:00-17:00;severities=low,medium')!;
  // 2026-11-27 is a Friday. Local 16:00 = 09:00Z.
  const fri16 = Date.parse('2026-11-27T09:00:00Z');
  it.each([
    ['inside the day', fri16, 30, '2026-11-27T09:30:00.000Z'],
    ['over the weekend to Monday morning', fri16, 120, '2026-11-30T02:00:00.000Z'],
    ['from Saturday night', Date.parse('2026-11-28T15:00:00Z'), 60, '2026-11-30T02:00:00.000Z'],
    ['from before opening', Date.parse('2026-11-30T00:00:00Z'), 15, '2026-11-30T01:15:00.000Z'],
  ])('adds working minutes %s', (_n, start, minutes, expected) =>
    expect(new Date(addBusinessMinutes(start, minutes, bh)).toISOString()).toBe(expected),
  );
  it('applies only to the listed severities', () => {
    expect(slaDeadlines('low', fri16, DEFAULT_SLA, bh)[0]!.dueMs).toBe(
      addBusinessMinutes(fri16, 24 * 60, bh),
    );
    expect(slaDeadlines('critical', fri16, DEFAULT_SLA, bh)[0]!.dueMs).toBe(fri16 + 15 * 60_000);
  });
  it.each(['days=mon-xyz', 'hours=17:00-08:00', 'severities=urgent', 'weekends=yes'])('refuses %s', (t) =>
    expect(() => parseBusinessHours(t)).toThrow(),
  );
  it('is off when empty', () => expect(parseBusinessHours('')).toBeUndefined());
});

describe('per-unit SLA policies', () => {
  const p = parseSlaPolicies('critical=20/300, hanoi/ba-dinh:critical=10/120, hanoi:high=15/-');
  it.each([
    ['a ward of Ba Đình takes its district’s override', 'hanoi/ba-dinh/phuc-xa', 'critical', 10],
    ['the district itself', 'hanoi/ba-dinh', 'critical', 10],
    [
      'a sibling district takes the city override, built on the city-wide entries',
      'hanoi/dong-da',
      'critical',
      20,
    ],
    ['the city override applies below it', 'hanoi/dong-da', 'high', 15],
    ['an incident with no unit takes the city-wide policy', null, 'high', 30],
    ['a similarly named unit is not a child', 'hanoi/ba-dinh-2', 'critical', 20],
  ] as const)('%s', (_n, unit, sev, ack) => expect(slaPolicyFor(p, unit)[sev].acknowledgeMinutes).toBe(ack));
  it('refuses a unit that is not a path', () =>
    expect(() => parseSlaPolicies('../x:critical=1/1')).toThrow(/bad SLA unit/));
});
