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

export interface DurableSpec {
  stream: string;
  durable: string;
  filterSubject?: string;
  ackWaitMs?: number;
  /** After this many failed deliveries a message is dead-lettered (with its bytes) and terminated. */
  maxDeliver?: number;
  maxAckPending?: number;
}

export async function ensureConsumer(jsm: JetStreamManager, spec: DurableSpec): Promise<void> {
  const cfg = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(spec.ackWaitMs ?? 30_000),
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

export interface BatchHandler<T> {
  decode(msg: JsMsg): T;
  /** Must make the batch's effect durable (idempotently) before resolving; messages are acked afterwards. */
  handle(items: Array<{ msg: JsMsg; value: T }>): Promise<void>;
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

  /**
   * Messages stream in through consume() and are handled in batches of whatever has arrived (up to
   * batchSize): a backlog is drained in big transactions, a trickle is handled at once with no waiting.
   */
  private async run(): Promise<void> {
    const { js, spec, logger } = this.opts;
    const consumer = await js.consumers.get(spec.stream, spec.durable);
    const reader = async () => {
      while (!this.stopped) {
        try {
          this.messages = await consumer.consume({ max_messages: Math.max(this.opts.batchSize * 2, 64) });
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
      await this.process(this.buffer.splice(0, this.opts.batchSize));
    }
    await reading;
  }

  private async process(msgs: JsMsg[]): Promise<void> {
    const items: Array<{ msg: JsMsg; value: T }> = [];
    for (const msg of msgs) {
      try {
        items.push({ msg, value: this.handler.decode(msg) });
      } catch (err) {
        await this.deadLetter(msg, 'undecodable', String(err));
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
          await this.deadLetter(item.msg, 'handler_failed', String(err));
        } else {
          item.msg.nak(Math.min(30_000, 500 * 2 ** deliveries));
        }
      }
    }
  }

  private async deadLetter(msg: JsMsg, reason: string, detail: string): Promise<void> {
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
      msg.term();
      this.opts.onDeadLettered?.(reason);
      logger.warn(`message ${spec.stream}#${msg.seq} dead-lettered: ${reason}`, { detail });
    } catch (err) {
      // Could not record it: leave it unacked so JetStream redelivers rather than losing it.
      logger.error(`dead-letter publish failed for ${spec.stream}#${msg.seq}; will be redelivered`, {
        error: String(err),
      });
      msg.nak(5000);
    }
  }
}
