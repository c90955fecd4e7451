import { connect, type JsMsg, type NatsConnection } from 'nats';
import { expandBatches } from '@citysoc/bus';

const NATS_URL = process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222';

export async function withNats<T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: NATS_URL });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/** Deletes every stream a test created under its prefix, KV buckets (streams `KV_<prefix>…`) included. */
export async function cleanupStreams(prefix: string): Promise<void> {
  await withNats(async (nc) => {
    const jsm = await nc.jetstreamManager();
    for await (const s of jsm.streams.names())
      if (s.startsWith(prefix) || s.startsWith(`KV_${prefix}`)) await jsm.streams.delete(s);
  });
}

/** Reads every message currently in a stream (ordered consumer, no durable state left behind). */
export async function readStream(
  stream: string,
): Promise<Array<Pick<JsMsg, 'subject' | 'data' | 'headers' | 'seq'>>> {
  return withNats((nc) => readStreamWith(nc, stream));
}

/** `readStream` over a connection of the caller's (e.g. to a test cluster). */
export async function readStreamWith(
  nc: NatsConnection,
  stream: string,
): Promise<Array<Pick<JsMsg, 'subject' | 'data' | 'headers' | 'seq'>>> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const total = info.state.messages;
  const out: Array<Pick<JsMsg, 'subject' | 'data' | 'headers' | 'seq'>> = [];
  if (total === 0) return out;
  const c = await nc.jetstream().consumers.get(stream);
  const iter = await c.fetch({ max_messages: total, expires: 2000 });
  for await (const m of iter) {
    out.push({ subject: m.subject, data: m.data, headers: m.headers, seq: m.seq });
    if (out.length >= total) break;
  }
  return out;
}

/**
 * Every event currently in an EVENTS-like stream, batches (JSON arrays, e.g. a syslog batch or a flow
 * datagram) expanded; each event keeps its message's subject and sequence.
 */
export async function readEvents<T = unknown>(
  stream: string,
): Promise<Array<{ subject: string; seq: number; doc: T }>> {
  return withNats((nc) => readEventsWith<T>(nc, stream));
}

/** `readEvents` over a connection of the caller's (e.g. to a test cluster). */
export async function readEventsWith<T = unknown>(
  nc: NatsConnection,
  stream: string,
): Promise<Array<{ subject: string; seq: number; doc: T }>> {
  const msgs = await readStreamWith(nc, stream);
  const out: Array<{ subject: string; seq: number; doc: T }> = [];
  for (const m of msgs) {
    const { values } = expandBatches<T>(
      [JSON.parse(Buffer.from(m.data).toString('utf8')) as T | T[]],
      [m.seq],
    );
    for (const doc of values) out.push({ subject: m.subject, seq: m.seq, doc });
  }
  return out;
}

/**
 * How many events a stream holds: the sum of the collector's `Citysoc-Events` header (1 for a message
 * without it). Reads headers only, so it stays cheap on a stream of large batches.
 */
export function countEvents(stream: string): Promise<number> {
  return withNats((nc) => countEventsWith(nc, stream));
}

/** `countEvents` over a connection of the caller's (e.g. to a test cluster). */
export async function countEventsWith(nc: NatsConnection, stream: string): Promise<number> {
  {
    const jsm = await nc.jetstreamManager();
    const total = (await jsm.streams.info(stream)).state.messages;
    if (total === 0) return 0;
    const c = await nc.jetstream().consumers.get(stream, { headers_only: true });
    let seen = 0;
    let events = 0;
    while (seen < total) {
      const iter = await c.fetch({ max_messages: Math.min(total - seen, 10_000), expires: 5000 });
      let got = 0;
      for await (const m of iter) {
        got++;
        events += Number(m.headers?.get('Citysoc-Events') || 1);
      }
      if (got === 0) break;
      seen += got;
    }
    return events;
  }
}
