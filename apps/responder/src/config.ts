import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  elasticsearchConnectionOptions,
  incidentStoreOptions,
  int,
  list,
  metricsOptions,
  natsOptions,
  type OptionSpec,
  redisOptions,
  storeOptions,
  str,
} from '@citysoc/config';
import {
  DEFAULT_GROUPING as DEFAULT_GROUPING_FOR_CONFIG,
  type GroupingPolicy,
  parseGroupingPolicy,
  groupingSpecFromObject,
  slaOptions,
} from '@citysoc/incidents';

export const responderSchema = {
  ...natsOptions,
  ...redisOptions,
  ...metricsOptions,
  ...storeOptions,
  ...incidentStoreOptions,
  ...elasticsearchConnectionOptions,
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
  ...slaOptions,
  grouping: {
    env: 'CITYSOC_GROUPING',
    description:
      'Grouping policy: keys=rule+entity|entity|rule+unit…;entity=source.ip,user.name,host.hostname;window=MIN;reopen=reopen|attach|new (window defaults to CITYSOC_INCIDENT_WINDOW_MINUTES)',
    default: '',
    example: 'keys=rule+entity;entity=source.ip,host.hostname,host.name,user.name;reopen=reopen',
    parse: (raw: string) => {
      parseGroupingPolicy(raw);
      return raw;
    },
  } satisfies OptionSpec<string>,
  groupingFile: {
    env: 'CITYSOC_GROUPING_FILE',
    description:
      'Grouping policy as YAML (keys, entity, window_minutes, reopen); CITYSOC_GROUPING settings apply on top',
    default: '',
    example: 'deploy/grouping.example.yml',
    parse: (raw: string) => {
      if (raw) groupingFromFile(raw);
      return raw;
    },
  } satisfies OptionSpec<string>,
  notifyWebhookUrls: {
    env: 'CITYSOC_NOTIFY_WEBHOOK_URLS',
    description: 'Webhooks told about SLA breaches (comma-separated http(s) URLs), signed with HMAC-SHA256',
    default: [],
    parse: (raw: string) => {
      const urls = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const u of urls) {
        let parsed: URL;
        try {
          parsed = new URL(u);
        } catch {
          throw new Error(`not a valid URL: ${u}`);
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
          throw new Error(`expected http(s): ${u}`);
      }
      return urls;
    },
  } satisfies OptionSpec<string[]>,
  notifyWebhookSecret: str({
    env: 'CITYSOC_NOTIFY_WEBHOOK_SECRET',
    description: 'HMAC-SHA256 key for webhook signatures (required with webhooks, ≥ 16 characters)',
    default: '',
    secret: true,
  }),
  notifySmtpUrl: str({
    env: 'CITYSOC_NOTIFY_SMTP_URL',
    description: 'SMTP server for e-mail notifications, e.g. smtps://user:pass@mail.example.gov.vn:465',
    default: '',
    secret: true,
  }),
  notifyEmailFrom: str({
    env: 'CITYSOC_NOTIFY_EMAIL_FROM',
    description: 'Sender address of notification e-mails',
    default: 'citysoc@localhost',
  }),
  notifyLeadEmails: list({
    env: 'CITYSOC_NOTIFY_LEAD_EMAILS',
    description: 'Addresses of the response leads, e-mailed on SLA breaches (comma-separated)',
    default: [],
  }),
  notifyAttempts: int({
    env: 'CITYSOC_NOTIFY_ATTEMPTS',
    description: 'Delivery attempts per notification (exponential backoff) before it is kept as failed',
    default: 8,
    min: 1,
    max: 50,
  }),
  notifyBackoffMs: int({
    env: 'CITYSOC_NOTIFY_BACKOFF_MS',
    description: 'First retry delay of a notification; doubles on every attempt',
    default: 5000,
    min: 1,
    max: 3_600_000,
  }),
  batchSize: int({
    env: 'CITYSOC_RESPONDER_BATCH',
    description: 'Alerts fetched from ALERTS per batch',
    default: 100,
    min: 1,
    max: 5000,
  }),
};

export type ResponderSettings = { grouping: string; groupingFile: string; windowMinutes: number };

function groupingFromFile(file: string): string {
  return groupingSpecFromObject(parse(readFileSync(file, 'utf8')));
}

/**
 * The grouping policy: the defaults with CITYSOC_INCIDENT_WINDOW_MINUTES as the window, then the YAML file,
 * then CITYSOC_GROUPING.
 */
export function groupingPolicy(c: ResponderSettings): GroupingPolicy {
  const base = { ...DEFAULT_GROUPING_FOR_CONFIG, windowMs: c.windowMinutes * 60_000 };
  const fromFile = c.groupingFile ? parseGroupingPolicy(groupingFromFile(c.groupingFile), base) : base;
  return parseGroupingPolicy(c.grouping, fromFile);
}
