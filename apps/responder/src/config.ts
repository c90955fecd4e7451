import { int, metricsOptions, natsOptions, redisOptions, storeOptions } from '@citysoc/config';

export const responderSchema = {
  ...natsOptions,
  ...redisOptions,
  ...metricsOptions,
  ...storeOptions,
  metricsPort: int({
    env: 'CITYSOC_RESPONDER_METRICS_PORT',
    description: 'Responder /metrics and /health port (-1 = off)',
    default: 9103,
    min: -1,
    max: 65535,
  }),
  windowMinutes: int({
    env: 'CITYSOC_INCIDENT_WINDOW_MINUTES',
    description: 'Alerts of one rule about one entity this close in time form one incident',
    default: 15,
    min: 1,
    max: 7 * 24 * 60,
  }),
  batchSize: int({
    env: 'CITYSOC_RESPONDER_BATCH',
    description: 'Alerts fetched from ALERTS per batch',
    default: 100,
    min: 1,
    max: 5000,
  }),
};
