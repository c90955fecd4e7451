import { eventStoreOptions, int, metricsOptions, natsOptions, storeOptions } from '@citysoc/config';

export const indexerSchema = {
  ...natsOptions,
  ...metricsOptions,
  ...storeOptions,
  ...eventStoreOptions,
  metricsPort: int({
    env: 'CITYSOC_INDEXER_METRICS_PORT',
    description: 'Indexer /metrics and /health port (-1 = off)',
    default: 9104,
    min: -1,
    max: 65535,
  }),
  batchSize: int({
    env: 'CITYSOC_INDEXER_BATCH',
    description: 'Events written per store transaction',
    default: 500,
    min: 1,
    max: 10_000,
  }),
};
