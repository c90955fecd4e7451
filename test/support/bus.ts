import { type BusSettings } from '@citysoc/bus';

/** Bus settings for a test: local NATS (or CITYSOC_NATS_URL), its own prefix, short retention. */
export function testBusSettings(prefix: string): BusSettings {
  return {
    natsUrl: process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222',
    natsCreds: '',
    streamPrefix: prefix,
    natsReplicas: 1,
    eventsMaxAgeHours: 1,
    eventsMaxBytes: -1,
    alertsMaxAgeHours: 1,
    deadletterMaxAgeHours: 1,
  };
}
