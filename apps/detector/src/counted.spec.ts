import { CountedSeqs } from './counted';

describe('CountedSeqs (which EVENTS sequences the correlations counted)', () => {
  it('counts a redelivered older message that arrives after newer ones', () => {
    // Restored at 10; 12 and 13 arrive first, 11 (in flight when the detector died) is redelivered later.
    let c = CountedSeqs.of(10);
    expect(c.has(11)).toBe(false);
    c = c.with([12, 13]);
    expect(c.has(11)).toBe(false); // a single watermark (13) would have skipped it
    expect(c.has(12)).toBe(true);
    expect(c.floor).toBe(10);
    c = c.with([11]);
    expect(c.floor).toBe(13);
    expect(c.size).toBe(0);
    expect(c.has(11)).toBe(true);
  });

  it('round-trips through its JSON form, and reads the single-watermark form', () => {
    const c = CountedSeqs.of(5).with([7, 9]);
    const j = c.toJSON();
    expect(j).toEqual({ correlatedUpTo: 5, correlatedAbove: [7, 9] });
    const back = CountedSeqs.of(j.correlatedUpTo, j.correlatedAbove);
    expect([6, 7, 8, 9].map((s) => back.has(s))).toEqual([false, true, false, true]);
    expect(CountedSeqs.of(42).has(42)).toBe(true);
    expect(CountedSeqs.of(42).has(43)).toBe(false);
  });

  it('does not mutate: a failed batch keeps the previous set', () => {
    const before = CountedSeqs.of(1);
    const after = before.with([2, 3]);
    expect(before.has(2)).toBe(false);
    expect(after.floor).toBe(3);
  });

  it('moves the floor past a gap that never fills once too many sequences wait above it', () => {
    const n = CountedSeqs.MAX_ABOVE + 1;
    const c = CountedSeqs.of(0).with(Array.from({ length: n }, (_, i) => i + 2)); // 1 never comes
    expect(c.size).toBe(0);
    expect(c.floor).toBe(n + 1);
  });
});
