/**
 * Beaconing: a host contacting one destination at regular intervals with similar payloads. Sigma can count
 * flows in a window but cannot measure regularity, so this is a flow analytic of its own. Pure functions
 * plus a bounded per-pair tracker; the detector would feed it flow events and raise an alert on `beacon`.
 */

export interface BeaconOptions {
  /** Fewest connections before a verdict (default 60: an hour at one per minute). */
  minConnections: number;
  /** Largest coefficient of variation of the intervals (default 0.2). */
  maxIntervalCv: number;
  /** Largest coefficient of variation of the bytes per connection (default 0.2). */
  maxBytesCv: number;
  /** Shortest mean interval considered (default 10 s): faster is streaming or polling, not beaconing. */
  minIntervalMs: number;
}

export const DEFAULT_BEACON: BeaconOptions = {
  minConnections: 60,
  maxIntervalCv: 0.2,
  maxBytesCv: 0.2,
  minIntervalMs: 10_000,
};

export interface BeaconVerdict {
  beacon: boolean;
  connections: number;
  meanIntervalMs: number | null;
  intervalCv: number | null;
  bytesCv: number | null;
  /** Why it is not a beacon, when it is not. */
  reason?: 'too-few' | 'irregular' | 'varied-size' | 'too-fast';
}

function meanCv(xs: number[]): { mean: number; cv: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (mean === 0) return { mean, cv: 0 };
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, cv: Math.sqrt(variance) / mean };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Verdict for one source→destination pair from its connections (start time, bytes). Gaps longer than
 * 1.5× the median interval (a beacon missed while the PC slept, a lost flow) are split into whole
 * multiples, so one gap does not hide a regular beacon.
 */
export function beaconScore(
  conns: ReadonlyArray<{ startMs: number; bytes: number }>,
  opts: BeaconOptions = DEFAULT_BEACON,
): BeaconVerdict {
  const n = conns.length;
  if (n < opts.minConnections)
    return {
      beacon: false,
      connections: n,
      meanIntervalMs: null,
      intervalCv: null,
      bytesCv: null,
      reason: 'too-few',
    };
  const t = conns.map((c) => c.startMs).sort((a, b) => a - b);
  const raw: number[] = [];
  for (let i = 1; i < t.length; i++) raw.push(t[i]! - t[i - 1]!);
  const med = median(raw);
  const intervals: number[] = [];
  for (const d of raw) {
    if (med > 0 && d > 1.5 * med) {
      const k = Math.round(d / med);
      for (let j = 0; j < k; j++) intervals.push(d / k);
    } else intervals.push(d);
  }
  const iv = meanCv(intervals);
  const by = meanCv(conns.map((c) => c.bytes));
  const base = { connections: n, meanIntervalMs: Math.round(iv.mean), intervalCv: iv.cv, bytesCv: by.cv };
  if (iv.mean < opts.minIntervalMs) return { beacon: false, ...base, reason: 'too-fast' };
  if (iv.cv > opts.maxIntervalCv) return { beacon: false, ...base, reason: 'irregular' };
  if (by.cv > opts.maxBytesCv) return { beacon: false, ...base, reason: 'varied-size' };
  return { beacon: true, ...base };
}

/**
 * Streaming form: per-pair connection history with bounded memory (most recent `maxPerPair` connections,
 * at most `maxPairs` pairs, least recently seen evicted). `observe` returns a verdict only when a pair
 * newly becomes a beacon, so a detector alerts once per pair until `reset`.
 */
export class BeaconTracker {
  private readonly pairs = new Map<
    string,
    { conns: Array<{ startMs: number; bytes: number }>; flagged: boolean }
  >();

  constructor(
    private readonly opts: BeaconOptions = DEFAULT_BEACON,
    private readonly maxPerPair = 240,
    private readonly maxPairs = 100_000,
  ) {}

  get size(): number {
    return this.pairs.size;
  }

  observe(
    src: string,
    dst: string,
    dport: number,
    startMs: number,
    bytes: number,
  ): BeaconVerdict | undefined {
    const key = `${src}>${dst}:${dport}`;
    let p = this.pairs.get(key);
    if (p) this.pairs.delete(key);
    else {
      p = { conns: [], flagged: false };
      if (this.pairs.size >= this.maxPairs) this.pairs.delete(this.pairs.keys().next().value!);
    }
    this.pairs.set(key, p);
    p.conns.push({ startMs, bytes });
    if (p.conns.length > this.maxPerPair) p.conns.shift();
    if (p.flagged) return undefined;
    const v = beaconScore(p.conns, this.opts);
    if (!v.beacon) return undefined;
    p.flagged = true;
    return v;
  }

  reset(src: string, dst: string, dport: number): void {
    this.pairs.delete(`${src}>${dst}:${dport}`);
  }
}
