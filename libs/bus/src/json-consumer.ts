import { DurableConsumer, ensureConsumer, type Logger } from './consumer';
import { type Bus } from './open';

export interface JsonConsumerOptions {
  /** App name, used in dead-letter subjects. */
  app: string;
  stream: string;
  /** Durable name before the bus prefix is applied. */
  durable: string;
  batchSize: number;
  logger: Logger;
  /** Overrides the bus's ack wait (CITYSOC_NATS_ACK_WAIT_MS). */
  ackWaitMs?: number;
  /** Re-read stream sequences the server moved past without delivering (default on; see SkipDetector). */
  repairSkips?: boolean;
  /** Counts messages re-read after a skip, and those the stream no longer held. */
  onSkipRepaired?: (reRead: number, gone: number) => void;
  onDeadLettered?: (reason: string) => void;
}

/**
 * Declares a durable consumer and starts a loop that hands the handler batches of decoded JSON values.
 * Every app consumes this way; undecodable messages are dead-lettered under `deadletter.<app>.*`.
 */
export async function consumeJson<T>(
  bus: Bus,
  o: JsonConsumerOptions,
  /** `seqs[i]` is the stream sequence of `values[i]`: stateful consumers use it to skip redeliveries. */
  handle: (values: T[], seqs: number[]) => Promise<void>,
): Promise<DurableConsumer<T>> {
  const spec = {
    stream: o.stream,
    durable: bus.names.durable(o.durable),
    ackWaitMs: o.ackWaitMs ?? bus.timing.ackWaitMs,
    retryMaxMs: bus.timing.retryMaxMs,
  };
  await bus.startStep(`declaring the ${spec.durable} consumer`, () => ensureConsumer(bus.jsm, spec));
  const consumer = new DurableConsumer<T>(
    {
      js: bus.js,
      spec,
      batchSize: o.batchSize,
      deadletter: {
        publisher: bus.publisher,
        subject: (reason) => bus.names.deadletterSubject(o.app, reason),
      },
      logger: o.logger,
      ...(o.repairSkips === false
        ? {}
        : { skipRepair: { jsm: bus.jsm, ...(o.onSkipRepaired ? { onRepaired: o.onSkipRepaired } : {}) } }),
      ...(o.onDeadLettered ? { onDeadLettered: o.onDeadLettered } : {}),
    },
    {
      decode: (msg) => JSON.parse(Buffer.from(msg.data).toString('utf8')) as T,
      handle: (items) =>
        handle(
          items.map((i) => i.value),
          items.map((i) => i.msg.seq),
        ),
    },
  );
  consumer.start();
  return consumer;
}

/**
 * EVENTS carries single events and batches (a JSON array of events, e.g. every flow record of one
 * datagram). Consumers that handle events one by one flatten them here; each event of a batch keeps its
 * message's stream sequence, so redelivery checks work per message.
 */
export function expandBatches<T>(values: Array<T | T[]>, seqs: number[]): { values: T[]; seqs: number[] } {
  if (!values.some((v) => Array.isArray(v))) return { values: values as T[], seqs };
  const out: T[] = [];
  const outSeqs: number[] = [];
  values.forEach((v, i) => {
    const seq = seqs[i] ?? 0;
    if (Array.isArray(v)) {
      for (const e of v) {
        out.push(e);
        outSeqs.push(seq);
      }
    } else {
      out.push(v);
      outSeqs.push(seq);
    }
  });
  return { values: out, seqs: outSeqs };
}
