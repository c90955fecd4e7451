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

  it('round-trips through its JSON form, and reads the per-sequence and single-watermark forms', () => {
    const c = CountedSeqs.of(5).with([7, 9, 10, 11]);
    const j = c.toJSON();
    expect(j).toEqual({
      correlatedUpTo: 5,
      correlatedRanges: [
        [7, 7],
        [9, 11],
      ],
    });
    const back = CountedSeqs.fromJSON(j);
    expect([6, 7, 8, 9, 10, 11, 12].map((s) => back.has(s))).toEqual([
      false,
      true,
      false,
      true,
      true,
      true,
      false,
    ]);
    const older = CountedSeqs.fromJSON({ correlatedUpTo: 5, correlatedAbove: [7, 9] });
    expect([6, 7, 8, 9].map((s) => older.has(s))).toEqual([false, true, false, true]);
    expect(CountedSeqs.fromJSON({ correlatedUpTo: 42 }).has(42)).toBe(true);
    expect(CountedSeqs.fromJSON({ correlatedUpTo: 42 }).has(43)).toBe(false);
  });

  it('ignores malformed runs in a saved state', () => {
    const c = CountedSeqs.fromJSON({ correlatedUpTo: 1, correlatedRanges: [[5, 3], ['a', 4], [6, 8], 7] });
    expect(c.toJSON()).toEqual({ correlatedUpTo: 1, correlatedRanges: [[6, 8]] });
  });

  it('does not mutate: a failed batch keeps the previous set', () => {
    const before = CountedSeqs.of(1);
    const after = before.with([2, 3]);
    expect(before.has(2)).toBe(false);
    expect(after.floor).toBe(3);
  });

  it('keeps a gap open however many newer sequences arrive while it waits (one run)', () => {
    // A minute of ack wait at a city's rate: the redelivered message 1 must still count when it comes.
    let c = CountedSeqs.of(0);
    for (let b = 0; b < 200; b++) c = c.with(Array.from({ length: 500 }, (_, i) => 2 + b * 500 + i));
    expect(c.has(1)).toBe(false);
    expect(c.size).toBe(100_000);
    expect(c.toJSON().correlatedRanges).toEqual([[2, 100_001]]);
    c = c.with([1]);
    expect(c.floor).toBe(100_001);
    expect(c.size).toBe(0);
  });

  it('merges runs in any arrival order, overlapping or repeated', () => {
    const c = CountedSeqs.of(0).with([10, 3, 4, 12, 4]).with([11, 5, 20]).with([2]);
    expect(c.toJSON()).toEqual({
      correlatedUpTo: 0,
      correlatedRanges: [
        [2, 5],
        [10, 12],
        [20, 20],
      ],
    });
    expect(c.with([1]).toJSON()).toEqual({
      correlatedUpTo: 5,
      correlatedRanges: [
        [10, 12],
        [20, 20],
      ],
    });
  });

  it('moves the floor past the oldest gaps once too many separate runs wait above it', () => {
    const n = CountedSeqs.MAX_RANGES + 1;
    // Every other sequence: n runs of one, each behind a gap that never fills.
    const c = CountedSeqs.of(0).with(Array.from({ length: n }, (_, i) => 2 * (i + 1)));
    expect(c.toJSON().correlatedRanges).toHaveLength(CountedSeqs.MAX_RANGES);
    expect(c.floor).toBe(2);
    expect(c.has(1)).toBe(true);
    expect(c.has(3)).toBe(false);
  });
});
