import { eventId } from '@citysoc/ecs';

/**
 * Counts identical frames from one sender so that event ids stay deterministic (a retransmission after a
 * restart reproduces them) while genuinely repeated lines still get distinct ids. Bounded: the oldest keys
 * are forgotten first, which only matters for repeats spread over a very long time.
 */
export class OccurrenceCounter {
  private readonly seen = new Map<string, number>();
  /**
   * `worker` > 0 (several collector processes): each counts only the frames it sees, so its ids are salted —
   * otherwise the same line from one sender on two workers would get one id and JetStream would drop the
   * second as a duplicate.
   */
  constructor(
    private readonly capacity = 200_000,
    worker = 0,
  ) {
    this.salt = worker > 0 ? `#w${worker}` : '';
  }

  private readonly salt: string;

  /** The frame's event id: its first occurrence's id doubles as the counting key, so one hash usually does. */
  idFor(senderIp: string, raw: Uint8Array): string {
    const key = this.salt === '' ? senderIp : senderIp + this.salt;
    const first = eventId(key, raw);
    const n = this.next(first);
    return n === 0 ? first : eventId(key, raw, n);
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
