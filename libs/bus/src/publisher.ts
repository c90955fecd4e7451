import { headers as natsHeaders, type JetStreamClient, type PubAck } from 'nats';
import { backoffMs, isRetryableBusError, sleep } from './retry';

export interface OutMessage {
  subject: string;
  data: Uint8Array;
  /** Becomes Nats-Msg-Id: JetStream drops a second copy within the duplicate window. */
  msgId: string;
  headers?: Record<string, string>;
}

/**
 * Publishes with a message id and retries transient failures. A message counts as handed on only once the
 * stream has acknowledged it; callers ack their own input after that, never before.
 */
export class JetStreamPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: { maxAttempts?: number; timeoutMs?: number } = {},
  ) {}

  async publish(m: OutMessage): Promise<PubAck> {
    const maxAttempts = this.opts.maxAttempts ?? 20;
    for (let attempt = 0; ; attempt++) {
      try {
        const h = natsHeaders();
        for (const [k, v] of Object.entries(m.headers ?? {})) h.set(k, v);
        return await this.js.publish(m.subject, m.data, {
          msgID: m.msgId,
          headers: h,
          timeout: this.opts.timeoutMs ?? 5000,
        });
      } catch (err) {
        if (!isRetryableBusError(err) || attempt + 1 >= maxAttempts) throw err;
        await sleep(backoffMs(attempt));
      }
    }
  }

  /** Publishes many concurrently (JetStream pipelines them on one connection) and resolves when all are stored. */
  async publishAll(ms: OutMessage[]): Promise<PubAck[]> {
    return Promise.all(ms.map((m) => this.publish(m)));
  }
}
