import { createHash } from 'node:crypto';
import { type OutMessage } from '@citysoc/bus';

export interface BatchLimits {
  /** Events per message; the batch is published when it holds this many. */
  events: number;
  /** Longest wait after a batch's first event before it is published anyway (0 = at the next turn of the event loop). */
  ms: number;
  /** Largest JSON body of one message; an event that would push a batch past it starts a new batch. */
  bytes: number;
}

/** One accepted event (or run of events) waiting for its batch to be stored. */
export interface BatchItem<T> {
  id: string;
  /** One event's JSON, or with `events` > 1 several events' JSON joined by commas (no brackets). */
  json: string;
  /**
   * The same already UTF-8 encoded (`json` is then empty): what a parse thread hands back, so the main
   * thread copies bytes into the message instead of decoding, joining and re-encoding strings.
   */
  utf8?: Uint8Array;
  /** Whatever the caller needs to dead-letter the event should its batch be refused (raw bytes, meta). */
  origin: T;
  /** How many events `json` holds (default 1): the flow source adds a datagram's records as one item. */
  events?: number;
}

/** A closed batch's body; `release` once nothing reads `data` any more (the publish settled). */
export interface BuiltBody {
  data: Buffer;
  /** `reusable` false: the publish failed, the buffer is left to the GC rather than written again. */
  release(reusable?: boolean): void;
}

/** What an `EventBatcher` tells the bodies of its batches (`MessageBodies` in bodies.ts). */
export interface BodyAssembler {
  /** The item joins the subject's open batch (after any flush the batcher decided). */
  add(subject: string, item: BatchItem<unknown>): void;
  /** The subject's batch is closed: its JSON array. */
  close(subject: string): BuiltBody | undefined;
}

/** Header telling readers how many events a message holds without parsing it (benchmarks, tests). */
export const EVENT_COUNT_HEADER = 'Citysoc-Events';

/**
 * A batch's message: a lone event is published as itself under its own id (what the collector published
 * before batching, so the duplicate window still matches a resend of it); several go as a JSON array under
 * an id hashed from their ordered event ids, so a retried publish of the same batch is dropped by
 * JetStream. A batch re-formed differently after a crash gets another id: its events are stored once all
 * the same because every consumer is idempotent on `event.id` (docs/architecture.md, "Batches").
 */
export function batchMessage(
  subject: string,
  items: ReadonlyArray<BatchItem<unknown>>,
  idPrefix = 'sb',
  /** The JSON array already built (`BodyAssembler`). */
  body?: Buffer,
): OutMessage {
  const first = items[0];
  if (!first) throw new Error('empty batch');
  const events = countEvents(items);
  if (events === 1)
    return {
      subject,
      data: first.utf8 ? Buffer.from(first.utf8) : Buffer.from(first.json),
      msgId: first.id,
      headers: { [EVENT_COUNT_HEADER]: '1' },
    };
  const h = createHash('sha256');
  for (const i of items) h.update(i.id).update('\n');
  return {
    subject,
    data: body
      ? body
      : items.some((i) => i.utf8)
        ? concatJson(items)
        : Buffer.from(`[${items.map((i) => i.json).join(',')}]`),
    msgId: `${idPrefix}-${h.digest('hex').slice(0, 40)}-${events}`,
    headers: { [EVENT_COUNT_HEADER]: String(events) },
  };
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** The JSON array of items some of which are bytes already. */
function concatJson(items: ReadonlyArray<BatchItem<unknown>>): Buffer {
  const parts: Uint8Array[] = [OPEN];
  items.forEach((i, k) => {
    if (k > 0) parts.push(COMMA);
    parts.push(i.utf8 ?? Buffer.from(i.json));
  });
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

export function countEvents(items: ReadonlyArray<BatchItem<unknown>>): number {
  let n = 0;
  for (const i of items) n += i.events ?? 1;
  return n;
}

/**
 * How one batch ended: `undefined` when JetStream stored it, else one outcome per event (the batch was
 * refused and each event was dead-lettered on its own; a rejected outcome means that event was not stored).
 */
export type BatchOutcome = ReadonlyArray<PromiseSettledResult<void>> | void;

/** Where an added event went: its batch's settlement and its position in that batch. */
export interface BatchTicket {
  done: Promise<BatchOutcome>;
  index: number;
}

interface Open<T> {
  items: BatchItem<T>[];
  events: number;
  bytes: number;
  done: Promise<BatchOutcome>;
  settle(outcome: BatchOutcome): void;
  fail(err: unknown): void;
  timer?: NodeJS.Timeout;
  immediate?: NodeJS.Immediate;
}

/**
 * Accumulates events per subject and hands each full (or timed-out) batch to `send`. An event counts as
 * handled only once `send` settled its batch, i.e. once JetStream stored it (or `send` dead-lettered the
 * event): callers count events in flight until then, so backpressure and shutdown see every event. One
 * promise per batch, not per event: at hundreds of thousands of events a second the promises were a
 * measurable share of the collector's CPU.
 */
export class EventBatcher<T> {
  private readonly open = new Map<string, Open<T>>();
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly limits: BatchLimits,
    /**
     * Stores one batch. It resolves with nothing when JetStream stored the batch, or with one outcome per
     * event when the batch was refused and each event was dead-lettered on its own (a rejected outcome: that
     * event could not be stored at all). A rejection fails every event of the batch.
     */
    private readonly send: (
      subject: string,
      items: ReadonlyArray<BatchItem<T>>,
      body?: Buffer,
    ) => Promise<BatchOutcome>,
    /** Builds each batch's body as its items come (handed to `send`, released once `send` settled). */
    private readonly bodies?: BodyAssembler,
  ) {}

  /** Adds one event; resolves when it is stored, rejects when it could not be (see `send`). */
  add(subject: string, item: BatchItem<T>): Promise<void> {
    const t = this.enqueue(subject, item);
    return t.done.then((outcomes) => {
      const o = outcomes?.[t.index];
      if (o?.status === 'rejected') throw o.reason;
    });
  }

  /** Adds one event without a promise of its own; callers adding many settle on their batches' `done`. */
  enqueue(subject: string, item: BatchItem<T>): BatchTicket {
    let b = this.open.get(subject);
    // +1 for the comma (or bracket) the event adds to the array.
    const size = (item.utf8 ? item.utf8.length : Buffer.byteLength(item.json)) + 1;
    if (b && b.items.length > 0 && b.bytes + size > this.limits.bytes) {
      this.flush(subject);
      b = undefined;
    }
    if (!b) {
      b = openBatch<T>();
      this.open.set(subject, b);
    }
    const ticket = { done: b.done, index: b.items.length };
    this.bodies?.add(subject, item);
    b.items.push(item);
    b.bytes += size;
    b.events += item.events ?? 1;
    if (b.events >= this.limits.events || b.bytes >= this.limits.bytes) this.flush(subject);
    else if (b.items.length === 1) {
      if (this.limits.ms > 0) b.timer = setTimeout(() => this.flush(subject), this.limits.ms);
      else b.immediate = setImmediate(() => this.flush(subject));
    }
    return ticket;
  }

  /** Publishes every open batch now (shutdown) and resolves when all batches in flight are settled. */
  async flushAll(): Promise<void> {
    for (const subject of [...this.open.keys()]) this.flush(subject);
    await Promise.allSettled([...this.sending]);
  }

  /** Events accepted into a batch that is not yet published. */
  get buffered(): number {
    let n = 0;
    for (const b of this.open.values()) n += b.events;
    return n;
  }

  private flush(subject: string): void {
    const b = this.open.get(subject);
    if (!b) return;
    this.open.delete(subject);
    if (b.timer) clearTimeout(b.timer);
    if (b.immediate) clearImmediate(b.immediate);
    const body = this.bodies?.close(subject);
    const p = this.send(subject, b.items, body?.data).then(
      (outcomes) => {
        // Stored: nats.js is done with the body. Refused: a copy may linger in its outbound buffer.
        body?.release(outcomes === undefined);
        b.settle(outcomes);
      },
      (err: unknown) => {
        body?.release(false);
        b.fail(err);
      },
    );
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p));
  }
}

function openBatch<T>(): Open<T> {
  let settle!: (o: BatchOutcome) => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<BatchOutcome>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // A batch nobody awaits (every caller used `add`, which chains its own handler) must not be reported as
  // an unhandled rejection; callers still see the rejection through their own `then`.
  done.catch(() => undefined);
  return { items: [], events: 0, bytes: 1, done, settle, fail };
}
