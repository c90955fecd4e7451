import {
  eventStoreOptions,
  incidentStoreOptions,
  int,
  metricsOptions,
  natsOptions,
  redisOptions,
  storeOptions,
  str,
} from '@citysoc/config';
import { reportSettingsSchema } from '@citysoc/reports';

export const reporterSchema = {
  ...natsOptions,
  ...redisOptions,
  ...metricsOptions,
  ...storeOptions,
  ...incidentStoreOptions,
  ...eventStoreOptions,
  ...reportSettingsSchema,
  metricsPort: int({
    env: 'CITYSOC_REPORTER_METRICS_PORT',
    description: 'Reporter /metrics and /health port (-1 = off)',
    default: 9105,
    min: -1,
    max: 65535,
  }),
  pollSeconds: int({
    env: 'CITYSOC_REPORT_POLL_SECONDS',
    description: 'How often the reporter looks for new or changed incidents',
    default: 10,
    min: 1,
    max: 3600,
  }),
  minUpdateSeconds: int({
    env: 'CITYSOC_REPORT_MIN_UPDATE_SECONDS',
    description: 'Least time between two update versions of one incident (a status change always goes)',
    default: 300,
    min: 0,
  }),
  retryBaseMs: int({
    env: 'CITYSOC_REPORT_RETRY_BASE_MS',
    description: 'First retry delay of a failed delivery (doubles each time, with jitter)',
    default: 5000,
    min: 1,
  }),
  retryMaxMs: int({
    env: 'CITYSOC_REPORT_RETRY_MAX_MS',
    description: 'Longest delay between two delivery attempts',
    default: 15 * 60_000,
    min: 1,
  }),
  statusPollMs: int({
    env: 'CITYSOC_TAXII_STATUS_POLL_MS',
    description: 'Interval between TAXII status polls while the server says pending',
    default: 1000,
    min: 1,
  }),
  dailyCron: str({
    env: 'CITYSOC_REPORT_DAILY_CRON',
    description: 'When the daily summary (previous UTC day) is built; off = never',
    default: '15 0 * * *',
  }),
  sixMonthlyCron: str({
    env: 'CITYSOC_REPORT_SIX_MONTHLY_CRON',
    description: 'When the six-monthly summary (Mẫu 05; previous half-year) is built; off = never',
    default: '30 0 1 1,7 *',
  }),
  yearlyCron: str({
    env: 'CITYSOC_REPORT_YEARLY_CRON',
    description: 'When the yearly summary (previous year) is built; off = never',
    default: '45 0 1 1 *',
  }),
  iocPullMinutes: int({
    env: 'CITYSOC_TAXII_PULL_MINUTES',
    description: 'How often indicators are pulled from the national collection',
    default: 60,
    min: 1,
  }),
};
