import { type JetStreamClient, type KV, type KvOptions } from 'nats';
import { type Bus } from './open';

/**
 * A JetStream key-value bucket (created if missing) for small state that must survive restarts.
 *
 * Reads go to the stream leader (`allow_direct: false`). A direct get may be answered by any replica, and a
 * replica that is behind — one just restarted after a crash — answers with an older value: a detector
 * restoring its correlation state from it fires a window again that had already fired, a collector restores
 * templates without the newest. State is read at start and on failover, where a consistent read is worth
 * the extra hop. An existing bucket keeps its stream config; only this client's reads change.
 */
export async function openKv(
  bus: Bus,
  bucket: string,
  replicas = 1,
  opts: Partial<Pick<KvOptions, 'ttl'>> = {},
): Promise<KV> {
  const name = bus.names.durable(bucket);
  return bus.startStep(`opening the ${name} bucket`, () => kvView(bus.js, name, replicas, opts));
}

/** `openKv` for a caller that holds a bare connection (the API): the same options, no start-up retries. */
export function kvView(
  js: JetStreamClient,
  name: string,
  replicas = 1,
  opts: Partial<Pick<KvOptions, 'ttl'>> = {},
): Promise<KV> {
  return js.views.kv(name, { history: 1, replicas, allow_direct: false, ...opts });
}

/**
 * KV buckets opened once and shared by a long-lived reader (an API controller). A failed open (NATS down)
 * is forgotten, so the next request tries again instead of failing forever on a cached rejection.
 */
export class KvBuckets {
  private readonly open = new Map<string, Promise<KV>>();

  constructor(
    private readonly js: () => JetStreamClient,
    private readonly nameOf: (bucket: string) => string,
  ) {}

  get(bucket: string): Promise<KV> {
    let b = this.open.get(bucket);
    if (!b) {
      b = kvView(this.js(), this.nameOf(bucket));
      b.catch(() => this.open.delete(bucket));
      this.open.set(bucket, b);
    }
    return b;
  }
}
