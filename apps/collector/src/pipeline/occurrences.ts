import { eventId } from '@citysoc/ecs';

/**
 * Counts identical frames from one sender so that event ids stay deterministic (a retransmission after a
 * restart reproduces them) while genuinely repeated lines still get distinct ids. Bounded: the oldest keys
 * are forgotten first, which only matters for repeats spread over a very long time.
 */
export class OccurrenceCounter {
  private readonly seen = new Map<string, number>();
  constructor(private readonly capacity = 200_000) {}

  /** The frame's event id: its first occurrence's id doubles as the counting key, so one hash usually does. */
  idFor(senderIp: string, raw: Uint8Array): string {
    const first = eventId(senderIp, raw);
    const n = this.next(first);
    return n === 0 ? first : eventId(senderIp, raw, n);
  }

  next(key: string): number {
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
