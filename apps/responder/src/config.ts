import {
  int,
  metricsOptions,
  natsOptions,
  type OptionSpec,
  redisOptions,
  storeOptions,
} from '@citysoc/config';
import { DEFAULT_SLA, parseSlaPolicy, type SlaPolicy } from '@citysoc/incidents';

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
  slaPolicy: {
    env: 'CITYSOC_SLA_POLICY',
    description:
      'Minutes to claim/resolve per severity, e.g. critical=15/240,high=30/480 (- for none); unlisted keep defaults',
    default: DEFAULT_SLA,
    example: 'critical=15/240,high=30/480,medium=240/4320,low=1440/10080,informational=-/-',
    parse: (raw: string) => parseSlaPolicy(raw),
  } satisfies OptionSpec<SlaPolicy>,
  batchSize: int({
    env: 'CITYSOC_RESPONDER_BATCH',
    description: 'Alerts fetched from ALERTS per batch',
    default: 100,
    min: 1,
    max: 5000,
  }),
};
