import { connect, type JsMsg, type NatsConnection } from 'nats';

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
  return withNats(async (nc) => {
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
  });
}
