import {
  AckPolicy,
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

  constructor(
    private readonly opts: ConsumerRunOptions,
    private readonly handler: BatchHandler<T>,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { js, spec, logger } = this.opts;
    const consumer = await js.consumers.get(spec.stream, spec.durable);
    while (!this.stopped) {
      const msgs: JsMsg[] = [];
      try {
        const iter = await consumer.fetch({ max_messages: this.opts.batchSize, expires: 1000 });
        for await (const m of iter) msgs.push(m);
      } catch (err) {
        logger.warn(`fetch from ${spec.stream}/${spec.durable} failed; retrying`, { error: String(err) });
        await sleep(500);
        continue;
      }
      if (msgs.length === 0) continue;
      await this.process(msgs);
    }
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
