import { eventId } from '@citysoc/ecs';

/**
 * Counts identical frames from one sender so that event ids stay deterministic (a retransmission after a
 * restart reproduces them) while genuinely repeated lines still get distinct ids. Bounded: the oldest keys
 * are forgotten first, which only matters for repeats spread over a very long time.
 *
 * Two generations of capacity/2 keys each rather than one Map trimmed from its oldest end: deleting a Map's
 * first key leaves a hole that every later `keys().next()` walks over until V8 rehashes, which made the trim
 * cost grow with the map and was the collector's largest per-message cost (a fifth of its CPU). A key seen
 * again in the old generation moves to the new one, so at least the capacity/2 most recent keys are kept.
 */
export class OccurrenceCounter {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private readonly generation: number;
  /**
   * `worker` > 0 (several collector processes): each counts only the frames it sees, so its ids are salted —
   * otherwise the same line from one sender on two workers would get one id and JetStream would drop the
   * second as a duplicate.
   */
  constructor(capacity = 200_000, worker = 0) {
    this.generation = Math.max(1, Math.ceil(capacity / 2));
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
    let n = this.current.get(key);
    if (n === undefined) {
      n = this.previous.get(key);
      if (n !== undefined) this.previous.delete(key);
      if (this.current.size >= this.generation) {
        this.previous = this.current;
        this.current = new Map();
      }
    }
    this.current.set(key, (n ?? 0) + 1);
    return n ?? 0;
  }
}
