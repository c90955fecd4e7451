import { int, oneOf, str } from './options';

const days = (env: string, what: string, def: number) =>
  int({
    env,
    description: `Days ${what} are kept in Elasticsearch (ILM delete phase)`,
    default: def,
    min: 1,
    max: 36_500,
  });

/**
 * Where events and alerts are stored: the embedded SQLite file (one machine) or Elasticsearch (city
 * scale). Incidents, tokens and the audit log stay in SQLite either way (see docs/elasticsearch.md).
 */
export const eventStoreOptions = {
  store: oneOf({
    env: 'CITYSOC_STORE',
    description: 'Event and alert store: sqlite (embedded, default) or elasticsearch',
    default: 'sqlite',
    values: ['sqlite', 'elasticsearch'] as const,
  }),
  elasticsearchUrl: str({
    env: 'CITYSOC_ELASTICSEARCH_URL',
    description: 'Elasticsearch URL(s), comma-separated (falls back to ELASTICSEARCH_URL)',
    default: '',
  }),
  elasticsearchApiKey: str({
    env: 'CITYSOC_ELASTICSEARCH_API_KEY',
    description: 'Elasticsearch API key (base64 id:key), preferred over username/password',
    default: '',
    secret: true,
  }),
  elasticsearchUsername: str({
    env: 'CITYSOC_ELASTICSEARCH_USERNAME',
    description: 'Elasticsearch basic-auth user (when no API key is set)',
    default: '',
  }),
  elasticsearchPassword: str({
    env: 'CITYSOC_ELASTICSEARCH_PASSWORD',
    description: 'Elasticsearch basic-auth password',
    default: '',
    secret: true,
  }),
  elasticsearchCaFile: str({
    env: 'CITYSOC_ELASTICSEARCH_CA_FILE',
    description: "PEM file of the CA that signed the cluster's certificate (optional)",
    default: '',
  }),
  elasticsearchNamespace: str({
    env: 'CITYSOC_ELASTICSEARCH_NAMESPACE',
    description: 'Data stream namespace of live data (logs-citysoc.<class>-<namespace>)',
    default: 'default',
  }),
  elasticsearchDrillNamespace: str({
    env: 'CITYSOC_ELASTICSEARCH_DRILL_NAMESPACE',
    description: 'Data stream namespace of drill data (events tagged drill)',
    default: 'drill',
  }),
  retentionSyslogDays: days('CITYSOC_RETENTION_SYSLOG_DAYS', 'syslog events', 90),
  retentionFlowDays: days('CITYSOC_RETENTION_FLOW_DAYS', 'flow records', 30),
  retentionAlertsDays: days('CITYSOC_RETENTION_ALERTS_DAYS', 'alerts', 365),
  retentionDrillDays: days('CITYSOC_RETENTION_DRILL_DAYS', 'drill events and alerts', 14),
  warmAfterDays: int({
    env: 'CITYSOC_ELASTICSEARCH_WARM_AFTER_DAYS',
    description: 'Days in the hot tier before an index moves to warm (read-only, force-merged)',
    default: 2,
    min: 0,
    max: 3650,
  }),
};
