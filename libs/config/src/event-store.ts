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

/**
 * Where events and alerts are stored: the embedded SQLite file (one machine) or Elasticsearch (city
 * scale). Tokens and the audit log stay in SQLite either way; incidents have their own switch,
 * incidentStoreOptions (see docs/elasticsearch.md).
 */
export const eventStoreOptions = {
  store: oneOf({
    env: 'CITYSOC_STORE',
    description: 'Event and alert store: sqlite (embedded, default) or elasticsearch',
    default: 'sqlite',
    values: ['sqlite', 'elasticsearch'] as const,
  }),
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
 * Where incidents live. A setting of its own, not CITYSOC_STORE, on purpose: deployments already run
 * CITYSOC_STORE=elasticsearch for events (deploy/k8s, deploy/compose) with their incidents in SQLite, and
 * no migration moves those incidents; following CITYSOC_STORE would make them vanish from the console on
 * upgrade (nothing lost silently). Incidents are also the control plane: the console's aggregations and
 * the health counters still read the SQLite incident tables. So switching incidents is an explicit act.
 */
export const incidentStoreOptions = {
  incidentStore: oneOf({
    env: 'CITYSOC_INCIDENT_STORE',
    description:
      'Incident store: sqlite (embedded, default) or elasticsearch (uses the CITYSOC_ELASTICSEARCH_* connection)',
    default: 'sqlite',
    values: ['sqlite', 'elasticsearch'] as const,
  }),
};
