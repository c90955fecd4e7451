import { type KV, type KvOptions } from 'nats';
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
  const open = () => bus.js.views.kv(name, { history: 1, replicas, allow_direct: false, ...opts });
  return bus.startStep(`opening the ${name} bucket`, open);
}
