/**
 * Tracks accepted-but-not-yet-durable work so sources can apply backpressure (pause TCP sockets) and so a
 * graceful shutdown can wait until everything accepted has been handed on.
 */
export class Inflight {
  private n = 0;
  private waiters: Array<() => void> = [];
  private readonly resumeAt: number;
  private listeners = new Set<() => void>();

  constructor(private readonly high: number) {
    this.resumeAt = Math.floor(high / 2);
  }

  get count(): number {
    return this.n;
  }

  get saturated(): boolean {
    return this.n >= this.high;
  }

  /** Counts `count` units of work (frames) until `p` settles. */
  track(p: Promise<void>, count = 1): Promise<void> {
    this.n += count;
    return p.finally(() => {
      this.n -= count;
      if (this.n <= this.resumeAt) for (const l of this.listeners) l();
      if (this.n === 0) {
        const w = this.waiters;
        this.waiters = [];
        w.forEach((f) => f());
      }
    });
  }

  /** Called when the count falls back to the low watermark. */
  onDrain(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  idle(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}
