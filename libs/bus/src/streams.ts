import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  nanos,
  type StreamConfig,
} from 'nats';
import { type BusNames } from './names';

export interface StreamLimits {
  replicas: number;
  eventsMaxAgeHours: number;
  eventsMaxBytes: number;
  alertsMaxAgeHours: number;
  deadletterMaxAgeHours: number;
}

const HOUR_MS = 3_600_000;
/** Long enough to cover a sender's retransmission after a collector restart, short enough to bound memory. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

export function streamConfigs(
  names: BusNames,
  limits: StreamLimits,
): Array<Partial<StreamConfig> & { name: string }> {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: limits.replicas,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  return [
    {
      ...common,
      name: names.eventsStream,
      subjects: [names.eventsWildcard],
      max_age: nanos(limits.eventsMaxAgeHours * HOUR_MS),
      max_bytes: limits.eventsMaxBytes,
    },
    {
      ...common,
      name: names.alertsStream,
      subjects: [names.alertsWildcard],
      max_age: nanos(limits.alertsMaxAgeHours * HOUR_MS),
    },
    // Dead letters are refused rather than silently evicted when full: losing the evidence of a loss is worse.
    {
      ...common,
      name: names.deadletterStream,
      subjects: [names.deadletterWildcard],
      max_age: nanos(limits.deadletterMaxAgeHours * HOUR_MS),
      discard: DiscardPolicy.New,
      max_bytes: 1024 ** 3,
    },
  ];
}

/** Creates or updates each stream so that every app can call this at start, in any order, any number of times. */
export async function ensureStreams(
  jsm: JetStreamManager,
  configs: Array<Partial<StreamConfig> & { name: string }>,
): Promise<void> {
  for (const cfg of configs) {
    let exists = true;
    try {
      await jsm.streams.info(cfg.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      exists = false;
    }
    if (!exists) {
      try {
        await jsm.streams.add(cfg);
        continue;
      } catch (err) {
        // Another app created it between our info and add.
        if (!/already in use|exists/i.test(String((err as Error).message))) throw err;
      }
    }
    await jsm.streams.update(cfg.name, cfg);
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return (
    e.code === '404' ||
    e.api_error?.err_code === 10059 ||
    e.api_error?.err_code === 10014 ||
    /not found/i.test(e.message ?? '')
  );
}
