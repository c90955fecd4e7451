import {
  inferYearUtcMs,
  isValidTimeZone,
  localToUtcMs,
  monthAt,
  utcMs,
  zonedParts,
  zoneOffsetMs,
} from './time';

describe('time helpers', () => {
  it.each([
    [1970, 1, 1],
    [2000, 2, 29],
    [2024, 12, 31],
    [1900, 3, 1],
    [2100, 2, 28],
    [1600, 2, 29],
    [9999, 12, 31],
  ])('utcMs agrees with Date.UTC for %i-%i-%i', (y, mo, d) => {
    expect(utcMs(y, mo, d, 13, 14, 15, 678)).toBe(Date.UTC(y, mo - 1, d, 13, 14, 15, 678));
  });

  it('utcMs handles years below 100 that Date.UTC maps to the 1900s', () => {
    expect(new Date(utcMs(5, 6, 7, 0, 0, 0, 0)).toISOString()).toBe('0005-06-07T00:00:00.000Z');
  });

  it.each([
    ['Asia/Ho_Chi_Minh', '2026-06-01T00:00:00Z', 7 * 3600_000],
    ['Asia/Kolkata', '2026-06-01T00:00:00Z', 5.5 * 3600_000],
    ['Europe/Berlin', '2026-01-15T12:00:00Z', 3600_000],
    ['Europe/Berlin', '2026-07-15T12:00:00Z', 2 * 3600_000],
    ['UTC', '2026-07-15T12:00:00Z', 0],
  ])('the offset of %s at %s is computed with Intl', (zone, at, offset) => {
    expect(zoneOffsetMs(zone, Date.parse(at))).toBe(offset);
  });

  it('a wall-clock time right after a DST change resolves to the new offset', () => {
    // Berlin moved to CEST at 2026-03-29 01:00Z; 03:30 local exists only as CEST.
    expect(new Date(localToUtcMs('Europe/Berlin', 2026, 3, 29, 3, 30, 0, 0)).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });

  it('year inference picks the closest year in the given zone', () => {
    const received = Date.parse('2027-01-01T00:30:00Z'); // already Jan 1 07:30 in Ho Chi Minh City
    const t = inferYearUtcMs('Asia/Ho_Chi_Minh', received, 12, 31, 23, 59, 0, 0);
    expect(new Date(t).toISOString()).toBe('2026-12-31T16:59:00.000Z');
  });

  it('Feb 29 with no leap year nearby gives NaN rather than a wrong date', () => {
    expect(inferYearUtcMs('UTC', Date.parse('2026-06-01T00:00:00Z'), 2, 29, 0, 0, 0, 0)).toBeNaN();
  });

  it.each([
    ['Jan', 1],
    ['dec', 12],
    ['SEP', 9],
    ['Foo', 0],
    ['Ja', 0],
  ])('month %s is %i', (name, n) => {
    expect(monthAt(name, 0)).toBe(n);
  });

  it('validates zone names', () => {
    expect(isValidTimeZone('Asia/Ho_Chi_Minh')).toBe(true);
    expect(isValidTimeZone('Nowhere/Special')).toBe(false);
  });
});

describe('zonedParts (what a device clock shows; the inverse of localToUtcMs)', () => {
  it.each([
    ['Asia/Ho_Chi_Minh', '2026-11-27T02:00:00.750Z', [2026, 11, 27, 9, 0, 0, 420]],
    ['UTC', '2026-12-31T23:59:59Z', [2026, 12, 31, 23, 59, 59, 0]],
    // Across the Berlin spring-forward (01:00Z): 01:59:59 CET, then 03:00:00 CEST.
    ['Europe/Berlin', '2026-03-29T00:59:59Z', [2026, 3, 29, 1, 59, 59, 60]],
    ['Europe/Berlin', '2026-03-29T01:00:00Z', [2026, 3, 29, 3, 0, 0, 120]],
    ['America/St_Johns', '2026-01-15T12:00:00Z', [2026, 1, 15, 8, 30, 0, -210]],
  ] as const)('%s at %s', (zone, iso, [y, mo, d, h, mi, s, off]) => {
    const z = zonedParts(Date.parse(iso), zone);
    expect(z).toEqual({ year: y, month: mo, day: d, hour: h, minute: mi, second: s, offsetMin: off });
    expect(localToUtcMs(zone, y, mo, d, h, mi, s, 0)).toBe(Math.floor(Date.parse(iso) / 1000) * 1000);
  });
});
