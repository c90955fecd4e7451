/** A run of consecutive sequences, both ends included. */
type Range = readonly [number, number];

/** The saved form: the floor, and the counted runs above it (`correlatedAbove` is the older, per-sequence form). */
export interface CountedJson {
  correlatedUpTo: number;
  correlatedRanges: [number, number][];
}

/**
 * The EVENTS stream sequences the correlation state has counted: a floor (every sequence at or below it) and
 * the runs of sequences above it. A single "highest sequence seen" watermark is not enough: after a detector
 * restart the server delivers new messages at once but redelivers the ones the dead process had in flight only
 * when their ack wait runs out, i.e. after newer ones, and a watermark would then skip them uncounted — a
 * correlation window silently short of events (found by the chaos suite's detector kill).
 *
 * Runs, not single sequences: in that wait (a minute with the default ack wait) tens of thousands of newer
 * events arrive, and they form one run, so the set stays small however long the gap lasts. The older
 * per-sequence form capped itself at 4,096 sequences and then moved the floor over the gap, which skipped the
 * redelivered events after all whenever more than that arrived during the wait.
 */
export class CountedSeqs {
  /** Past this many separate runs (gaps that never fill, e.g. messages removed by retention before the
   * detector read them), the floor moves up over the oldest gap. */
  static readonly MAX_RANGES = 4096;

  private constructor(
    readonly floor: number,
    /** Sorted, disjoint and not adjacent to each other or to the floor. */
    private readonly ranges: readonly Range[],
  ) {}

  static of(floor = 0, above: Iterable<number> = []): CountedSeqs {
    return new CountedSeqs(floor, []).with(above);
  }

  /** Reads the saved form, current or per-sequence; anything malformed counts as not counted. */
  static fromJSON(j: {
    correlatedUpTo?: unknown;
    correlatedAbove?: unknown;
    correlatedRanges?: unknown;
  }): CountedSeqs {
    const floor = typeof j.correlatedUpTo === 'number' ? j.correlatedUpTo : 0;
    const seqs: number[] = Array.isArray(j.correlatedAbove)
      ? j.correlatedAbove.filter((s): s is number => Number.isSafeInteger(s))
      : [];
    let c = CountedSeqs.of(floor, seqs);
    if (Array.isArray(j.correlatedRanges)) {
      const runs: Range[] = [];
      for (const r of j.correlatedRanges as unknown[]) {
        if (!Array.isArray(r) || !Number.isSafeInteger(r[0]) || !Number.isSafeInteger(r[1]) || r[0] > r[1])
          continue;
        runs.push([r[0] as number, r[1] as number]);
      }
      c = c.withRuns(runs.sort((a, b) => a[0] - b[0]));
    }
    return c;
  }

  has(seq: number): boolean {
    if (seq <= this.floor) return true;
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const [a, b] = this.ranges[mid] as Range;
      if (seq < a) hi = mid - 1;
      else if (seq > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** A new set that also holds `seqs`; the floor rises over every run that now touches it. */
  with(seqs: Iterable<number>): CountedSeqs {
    const sorted = [...seqs].filter((s) => s > this.floor).sort((a, b) => a - b);
    const runs: Range[] = [];
    for (const s of sorted) {
      const last = runs[runs.length - 1];
      if (last && s <= last[1] + 1) runs[runs.length - 1] = [last[0], Math.max(last[1], s)];
      else runs.push([s, s]);
    }
    return this.withRuns(runs);
  }

  /** Merges sorted runs into this set's runs, then lifts the floor. */
  private withRuns(runs: readonly Range[]): CountedSeqs {
    const merged: Range[] = [];
    const push = (r: Range): void => {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1) merged[merged.length - 1] = [last[0], Math.max(last[1], r[1])];
      else merged.push(r);
    };
    let i = 0;
    let j = 0;
    while (i < this.ranges.length || j < runs.length) {
      const a = this.ranges[i];
      const b = runs[j];
      if (b === undefined || (a !== undefined && a[0] <= b[0])) {
        push(a as Range);
        i++;
      } else {
        push(b);
        j++;
      }
    }
    let floor = this.floor;
    let from = 0;
    for (;;) {
      while (from < merged.length && (merged[from] as Range)[0] <= floor + 1) {
        floor = Math.max(floor, (merged[from] as Range)[1]);
        from++;
      }
      if (merged.length - from <= CountedSeqs.MAX_RANGES) break;
      floor = (merged[from] as Range)[1];
      from++;
    }
    return new CountedSeqs(floor, from === 0 ? merged : merged.slice(from));
  }

  /** Sequences counted above the floor. */
  get size(): number {
    let n = 0;
    for (const [a, b] of this.ranges) n += b - a + 1;
    return n;
  }

  toJSON(): CountedJson {
    return { correlatedUpTo: this.floor, correlatedRanges: this.ranges.map(([a, b]) => [a, b]) };
  }
}
