/**
 * The EVENTS stream sequences the correlation state has counted: a floor (every sequence at or below it) and
 * the sequences above it. A single "highest sequence seen" watermark is not enough: after a detector restart
 * the server delivers new messages at once but redelivers the ones the dead process had in flight only when
 * their ack wait runs out, i.e. after newer ones, and a watermark would then skip them uncounted — a
 * correlation window silently short of events (found by the chaos suite's detector kill).
 */
export class CountedSeqs {
  /** Past this many sequences above the floor (a gap that never fills, e.g. a message removed by retention
   * before the detector read it), the floor moves up to the lowest of them. */
  static readonly MAX_ABOVE = 4096;

  private constructor(
    readonly floor: number,
    private readonly above: ReadonlySet<number>,
  ) {}

  static of(floor = 0, above: readonly number[] = []): CountedSeqs {
    return new CountedSeqs(floor, new Set(above.filter((s) => s > floor))).with([]);
  }

  has(seq: number): boolean {
    return seq <= this.floor || this.above.has(seq);
  }

  /** A new set that also holds `seqs`; the floor rises over every run that is now contiguous. */
  with(seqs: Iterable<number>): CountedSeqs {
    const above = new Set(this.above);
    let floor = this.floor;
    for (const s of seqs) if (s > floor) above.add(s);
    for (;;) {
      while (above.delete(floor + 1)) floor++;
      if (above.size <= CountedSeqs.MAX_ABOVE) break;
      floor = Math.min(...above);
      above.delete(floor);
    }
    return new CountedSeqs(floor, above);
  }

  get size(): number {
    return this.above.size;
  }

  toJSON(): { correlatedUpTo: number; correlatedAbove: number[] } {
    return { correlatedUpTo: this.floor, correlatedAbove: [...this.above].sort((a, b) => a - b) };
  }
}
