import { createHash } from 'node:crypto';

/**
 * Counts identical frames from one sender so that event ids stay deterministic (a retransmission after a
 * restart reproduces them) while genuinely repeated lines still get distinct ids. Bounded: the oldest keys
 * are forgotten first, which only matters for repeats spread over a very long time.
 */
export class OccurrenceCounter {
  private readonly seen = new Map<string, number>();
  constructor(private readonly capacity = 200_000) {}

  next(senderIp: string, raw: Uint8Array): number {
    const key = createHash('sha1').update(senderIp).update('\0').update(raw).digest('base64');
    const n = this.seen.get(key);
    if (n === undefined) {
      if (this.seen.size >= this.capacity) {
        const oldest = this.seen.keys().next();
        if (!oldest.done) this.seen.delete(oldest.value);
      }
      this.seen.set(key, 1);
      return 0;
    }
    this.seen.set(key, n + 1);
    return n;
  }
}
