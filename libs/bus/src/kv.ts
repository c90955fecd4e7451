import { type KV } from 'nats';
import { type Bus } from './open';

/** A JetStream key-value bucket (created if missing) for small state that must survive restarts. */
export async function openKv(bus: Bus, bucket: string, replicas = 1): Promise<KV> {
  return bus.js.views.kv(`${bus.names.durable(bucket)}`, { history: 1, replicas });
}
