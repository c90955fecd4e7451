import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  nanos,
} from 'nats';
import { type JetStreamPublisher } from './publisher';
import { isNotFound } from './streams';
import { sleep } from './retry';
import { type SeqRange, SkipDetector } from './skips';

/** Defaults of the redelivery timing (CITYSOC_NATS_ACK_WAIT_MS, CITYSOC_NATS_RETRY_MAX_MS). */
export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_RETRY_MAX_MS = 30_000;
/** Bytes a consumer asks for at once (see run()). */
const CONSUME_MAX_BYTES = 8 * 1024 * 1024;

export interface DurableSpec {
  stream: string;
  durable: string;
  filterSubject?: string;
  /** How long JetStream waits for an ack before redelivering (default 30 s). */
  ackWaitMs?: number;
  /** Longest delay of the exponential back-off before a failed message is retried (default 30 s). */
  retryMaxMs?: number;
  /** After this many failed deliveries a message is dead-lettered (with its bytes) and terminated. */
  maxDeliver?: number;
  maxAckPending?: number;
}

export async function ensureConsumer(jsm: JetStreamManager, spec: DurableSpec): Promise<void> {
  const cfg = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(spec.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
    // Unlimited at the server: a consumer that crash-loops must not make JetStream give up on a message
    // silently. Poison messages are dead-lettered by the loop below after maxDeliver handler failures.
    max_deliver: -1,
    max_ack_pending: spec.maxAckPending ?? 20_000,
    ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
  };
  try {
    await jsm.consumers.info(spec.stream, spec.durable);
    await jsm.consumers.update(spec.stream, spec.durable, cfg);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(spec.stream, cfg);
  }
}

export interface Logger {
  log(message: string, context?: unknown): void;
  warn(message: string, context?: unknown): void;
  error(message: string, context?: unknown): void;
}

/** What handlers see of a message: a delivery (JsMsg) or a message re-read from the stream (StoredMsg). */
export type BusMessage = Pick<JsMsg, 'seq' | 'subject' | 'data'>;

export interface BatchHandler<T> {
  decode(msg: BusMessage): T;
  /** Must make the batch's effect durable (idempotently) before resolving; messages are acked afterwards. */
  handle(items: Array<{ msg: BusMessage; value: T }>): Promise<void>;
}

export interface ConsumerRunOptions {
  js: JetStreamClient;
  spec: DurableSpec;
  batchSize: number;
  /** How long to wait for a batch to fill once the first message arrived (default 10 ms). */
  lingerMs?: number;
  /** Dead letters for undecodable or repeatedly failing messages. */
  deadletter: { publisher: JetStreamPublisher; subject: (reason: string) => string };
  logger: Logger;
  onAcked?: (n: number) => void;
  onDeadLettered?: (reason: string) => void;
  /**
   * Re-read from the stream the sequences the consumer moved past without delivering them (see
   * SkipDetector). Needs the manager; ignored for a filtered consumer. Off when absent.
   */
  skipRepair?: { jsm: JetStreamManager; onRepaired?: (reRead: number, gone: number) => void };
}

/**
 * A pull consumer loop with batches: the indexer writes a batch in one transaction, which is why this is a
 * loop of ours and not Nest's per-message @EventPattern. Ack only after the handler resolved.
 */
export class DurableConsumer<T> {
  private stopped = false;
  private loop?: Promise<void>;
  private messages?: ConsumerMessages;
  private buffer: JsMsg[] = [];
  private wake?: () => void;
  private readonly skips = new SkipDetector();

  constructor(
    private readonly opts: ConsumerRunOptions,
    private readonly handler: BatchHandler<T>,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.messages?.close();
    await this.loop;
    // Hand back what was delivered but not handled, so a replica (or our restart) gets it at once.
    for (const m of this.buffer.splice(0)) m.nak();
  }

  private get repairsSkips(): boolean {
    return !!this.opts.skipRepair && !this.opts.spec.filterSubject;
  }

  /**
   * Messages stream in through consume() and are handled in batches of whatever has arrived (up to
   * batchSize): a backlog is drained in big transactions, a trickle is handled at once with no waiting.
   */
  private async run(): Promise<void> {
    const { js, spec, logger } = this.opts;
    const consumer = await js.consumers.get(spec.stream, spec.durable);
    if (this.repairsSkips) {
      const info = await consumer.info();
      this.skips.seed(info.delivered.stream_seq, info.delivered.consumer_seq);
    }
    const reader = async () => {
      while (!this.stopped) {
        try {
          this.messages = await consumer.consume({
            // Bounded by bytes, not messages: a message can carry hundreds of events (~100 KB), and a pull
            // of batchSize × 2 of them overran the connection's 64 MB pending limit on a loaded machine —
            // the server cut it as a slow consumer and the dropped messages came back only after the ack
            // wait (a 60 s stall of the detector in bench:scale). In-flight messages stay bounded by the
            // durable's max_ack_pending.
            max_bytes: CONSUME_MAX_BYTES,
            // Pull requests expire (and idle heartbeats run at half of it) on the ack wait's scale: after a
            // consumer leader change or a recreated durable, pulling resumes within about that time.
            expires: Math.min(30_000, Math.max(1000, spec.ackWaitMs ?? DEFAULT_ACK_WAIT_MS)),
          });
          for await (const m of this.messages) {
            this.buffer.push(m);
            this.wake?.();
          }
        } catch (err) {
          if (this.stopped) break;
          logger.warn(`consuming ${spec.stream}/${spec.durable} failed; retrying`, { error: String(err) });
          await sleep(500);
        }
      }
    };
    const reading = reader();
    while (!this.stopped) {
      if (this.buffer.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1000).unref();
        });
        this.wake = undefined;
        continue;
      }
      // Linger briefly for a fuller batch: one transaction per message would make the store the bottleneck.
      if (this.buffer.length < this.opts.batchSize) await sleep(this.opts.lingerMs ?? 10);
      try {
        await this.process(this.buffer.splice(0, this.opts.batchSize));
      } catch (err) {
        // The batch's messages stay unacked and are redelivered after the ack wait.
        if (!this.stopped)
          logger.error(`batch on ${spec.stream}/${spec.durable} failed`, { error: String(err) });
      }
    }
    await reading;
  }

  /**
   * Tells JetStream the delivered messages are still being worked on (every third of the ack wait), so a
   * short ack wait — quick redelivery after a crash — does not also redeliver a slow batch.
   */
  private keepAlive(msgs: JsMsg[]): () => void {
    const every = Math.max(250, Math.floor((this.opts.spec.ackWaitMs ?? DEFAULT_ACK_WAIT_MS) / 3));
    const timer = setInterval(() => {
      for (const m of msgs) m.working();
      for (const m of this.buffer) m.working();
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async process(msgs: JsMsg[]): Promise<void> {
    const done = this.keepAlive(msgs);
    try {
      if (this.repairsSkips) {
        for (const msg of msgs) {
          const skipped = this.skips.observe({
            streamSeq: msg.info.streamSequence,
            deliverySeq: msg.info.deliverySequence,
            redelivered: msg.info.redelivered,
          });
          if (skipped) await this.repairUntilDone(skipped);
        }
      }
      await this.processDelivered(msgs);
    } finally {
      done();
    }
  }

  private async processDelivered(msgs: JsMsg[]): Promise<void> {
    const items: Array<{ msg: JsMsg; value: T }> = [];
    for (const msg of msgs) {
      try {
        items.push({ msg, value: this.handler.decode(msg) });
      } catch (err) {
        await this.deadLetterDelivered(msg, 'undecodable', String(err));
      }
    }
    if (items.length === 0) return;
    try {
      await this.handler.handle(items);
      for (const { msg } of items) msg.ack();
      this.opts.onAcked?.(items.length);
      return;
    } catch (err) {
      this.opts.logger.warn(`batch of ${items.length} failed; retrying one by one`, { error: String(err) });
    }
    // Isolate the poison message: one bad record must not hold back the rest of the batch.
    for (const item of items) {
      try {
        await this.handler.handle([item]);
        item.msg.ack();
        this.opts.onAcked?.(1);
      } catch (err) {
        const deliveries = item.msg.info.redeliveryCount;
        if (deliveries >= (this.opts.spec.maxDeliver ?? 10) - 1) {
          await this.deadLetterDelivered(item.msg, 'handler_failed', String(err));
        } else {
          item.msg.nak(this.retryDelay(deliveries));
        }
      }
    }
  }

  private retryDelay(attempt: number): number {
    return Math.min(this.opts.spec.retryMaxMs ?? DEFAULT_RETRY_MAX_MS, 500 * 2 ** attempt);
  }

  /** Reading the stream can fail while NATS elects a leader: retry until it worked (or we stop). */
  private async repairUntilDone(range: SeqRange): Promise<void> {
    for (;;) {
      try {
        return await this.repair(range);
      } catch (err) {
        const where = `${this.opts.spec.stream}#${range.from}..#${range.to}`;
        if (this.stopped) {
          this.opts.logger.error(`stopped before re-reading skipped ${where}`, { error: String(err) });
          throw err;
        }
        this.opts.logger.warn(`re-reading skipped ${where} failed; retrying`, { error: String(err) });
        await sleep(1000);
      }
    }
  }

  /**
   * Hands the handler the messages of a skipped range, read from the stream. They are not deliveries:
   * nothing to ack, so a failing one is retried here (same back-off and dead-letter rule as a delivery)
   * and the consumer waits — the skipped range is handled before anything delivered after it.
   */
  private async repair(range: SeqRange): Promise<void> {
    const { spec, logger } = this.opts;
    const { found, gone } = await readRange(this.opts.skipRepair!.jsm, spec.stream, range);
    const text = `consumer ${spec.stream}/${spec.durable} moved past #${range.from}..#${range.to} without delivering them`;
    if (gone > 0)
      logger.error(`${text}; ${gone} of them are no longer in the stream (retention) and cannot be re-read`);
    logger.warn(`${text}; re-reading ${found.length} from the stream`);
    this.opts.skipRepair!.onRepaired?.(found.length, gone);
    const items: Array<{ msg: BusMessage; value: T }> = [];
    for (const msg of found) {
      try {
        items.push({ msg, value: this.handler.decode(msg) });
      } catch (err) {
        await this.deadLetterRead(msg, 'undecodable', String(err));
      }
    }
    if (items.length === 0) return;
    try {
      await this.handler.handle(items);
      return;
    } catch (err) {
      logger.warn(`re-read batch of ${items.length} failed; retrying one by one`, { error: String(err) });
    }
    const maxDeliver = spec.maxDeliver ?? 10;
    for (const item of items) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.handler.handle([item]);
          break;
        } catch (err) {
          if (attempt >= maxDeliver - 1) {
            await this.deadLetterRead(item.msg, 'handler_failed', String(err));
            break;
          }
          await sleep(this.retryDelay(attempt));
        }
      }
    }
  }

  private async deadLetterDelivered(msg: JsMsg, reason: string, detail: string): Promise<void> {
    if (await this.deadLetter(msg, reason, detail)) msg.term();
    // Could not record it: leave it unacked so JetStream redelivers rather than losing it.
    else msg.nak(5000);
  }

  /** A re-read message has no delivery to fall back on: keep trying to record it. */
  private async deadLetterRead(msg: BusMessage, reason: string, detail: string): Promise<void> {
    while (!(await this.deadLetter(msg, reason, detail))) await sleep(5000);
  }

  private async deadLetter(msg: BusMessage, reason: string, detail: string): Promise<boolean> {
    const { deadletter, logger, spec } = this.opts;
    try {
      await deadletter.publisher.publish({
        subject: deadletter.subject(reason),
        data: msg.data,
        msgId: `dl-${spec.stream}-${msg.seq}`,
        headers: {
          'Citysoc-Reason': reason,
          'Citysoc-Detail': detail.slice(0, 1000),
          'Citysoc-Stream': spec.stream,
          'Citysoc-Seq': String(msg.seq),
          'Citysoc-Subject': msg.subject,
        },
      });
      this.opts.onDeadLettered?.(reason);
      logger.warn(`message ${spec.stream}#${msg.seq} dead-lettered: ${reason}`, { detail });
      return true;
    } catch (err) {
      logger.error(`dead-letter publish failed for ${spec.stream}#${msg.seq}; will be retried`, {
        error: String(err),
      });
      return false;
    }
  }
}

/**
 * Reads stream sequences from..to with direct gets (a few in parallel). Sequences the stream no longer
 * holds (expired by retention, or below its first sequence) are counted, not read.
 */
export async function readRange(
  jsm: JetStreamManager,
  stream: string,
  range: SeqRange,
): Promise<{ found: BusMessage[]; gone: number }> {
  const first = (await jsm.streams.info(stream)).state.first_seq;
  const found: BusMessage[] = [];
  let gone = Math.max(0, Math.min(range.to, first - 1) - range.from + 1);
  const seqs: number[] = [];
  for (let s = Math.max(range.from, first); s <= range.to; s++) seqs.push(s);
  const PARALLEL = 16;
  for (let i = 0; i < seqs.length; i += PARALLEL) {
    const got = await Promise.all(
      seqs.slice(i, i + PARALLEL).map(async (seq) => {
        try {
          return await jsm.streams.getMessage(stream, { seq });
        } catch (err) {
          if (isNotFound(err) || /no message found/i.test(String(err))) return undefined;
          throw err;
        }
      }),
    );
    for (const m of got) {
      if (m) found.push(m);
      else gone++;
    }
  }
  return { found, gone };
}
