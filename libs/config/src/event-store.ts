import { int, oneOf, str } from './options';

const days = (env: string, what: string, def: number) =>
  int({
    env,
    description: `Days ${what} are kept in Elasticsearch (ILM delete phase)`,
    default: def,
    min: 1,
    max: 36_500,
  });

/** How to reach the cluster: shared by the event store and the incident store. */
export const elasticsearchConnectionOptions = {
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
};

/** CITYSOC_STORE: the one setting that moves a deployment to Elasticsearch (events, alerts and, by default, incidents). */
export const storeKindOptions = {
  store: oneOf({
    env: 'CITYSOC_STORE',
    description:
      'Store: sqlite (embedded, default) or elasticsearch (events and alerts; incidents too unless CITYSOC_INCIDENT_STORE says otherwise)',
    default: 'sqlite',
    values: ['sqlite', 'elasticsearch'] as const,
  }),
};

/**
 * Where events and alerts are stored: the embedded SQLite file (one machine) or Elasticsearch (city
 * scale). Tokens and the audit log stay in SQLite either way; incidents have their own switch,
 * incidentStoreOptions (see docs/elasticsearch.md).
 */
export const eventStoreOptions = {
  ...storeKindOptions,
  ...elasticsearchConnectionOptions,
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

/**
 * Where incidents live. `auto` (default) follows CITYSOC_STORE, so one setting switches a deployment; but
 * a database whose SQLite incident tables already hold incidents is never switched away from them
 * silently: the apps refuse to start and name the two ways out (`citysoc store migrate-incidents`, or
 * CITYSOC_INCIDENT_STORE=sqlite to keep them where they are). See docs/elasticsearch.md.
 */
export const incidentStoreOptions = {
  ...storeKindOptions,
  incidentStore: oneOf({
    env: 'CITYSOC_INCIDENT_STORE',
    description:
      'Incident store: auto (follows CITYSOC_STORE), sqlite (embedded) or elasticsearch (uses the CITYSOC_ELASTICSEARCH_* connection)',
    default: 'auto',
    values: ['auto', 'sqlite', 'elasticsearch'] as const,
  }),
};
