import { type Client } from '@elastic/elasticsearch';
import { type IncidentStore } from './incident-port';
import { type EventStore } from './ports';
import { type ControlStore, openEventStore } from './sqlite/control';
import { SqliteIncidentStore } from './sqlite/incident-store';
import { createElasticsearchClient } from './elasticsearch/client';
import { ElasticsearchEventStore } from './elasticsearch/event-store';
import { DEFAULT_LAYOUT } from './elasticsearch/templates';

/** The settings of eventStoreOptions (@citysoc/config) plus the data folder. */
export interface EventStoreSettings {
  dataDir: string;
  store: 'sqlite' | 'elasticsearch';
  elasticsearchUrl: string;
  elasticsearchApiKey: string;
  elasticsearchUsername: string;
  elasticsearchPassword: string;
  elasticsearchCaFile: string;
  elasticsearchNamespace: string;
  elasticsearchDrillNamespace: string;
  retentionSyslogDays: number;
  retentionFlowDays: number;
  retentionAlertsDays: number;
  retentionDrillDays: number;
  warmAfterDays: number;
}

/** Switching stores is `CITYSOC_STORE=elasticsearch` plus the cluster's URL and credentials. */
export function openConfiguredEventStore(
  c: EventStoreSettings,
  env: NodeJS.ProcessEnv = process.env,
): EventStore {
  if (c.store === 'sqlite') return openEventStore(c.dataDir);
  const client = elasticsearchClientFrom(c, env, 'CITYSOC_STORE=elasticsearch');
  return new ElasticsearchEventStore(client, {
    layout: {
      ...DEFAULT_LAYOUT,
      namespace: c.elasticsearchNamespace,
      drillNamespace: c.elasticsearchDrillNamespace,
      retention: {
        syslogDays: c.retentionSyslogDays,
        flowDays: c.retentionFlowDays,
        alertsDays: c.retentionAlertsDays,
        drillDays: c.retentionDrillDays,
        warmAfterDays: c.warmAfterDays,
      },
    },
  });
}

type ConnectionSettings = Pick<
  EventStoreSettings,
  | 'elasticsearchUrl'
  | 'elasticsearchApiKey'
  | 'elasticsearchUsername'
  | 'elasticsearchPassword'
  | 'elasticsearchCaFile'
>;

/** The cluster client of the CITYSOC_ELASTICSEARCH_* settings; `who` names the setting that asked for it. */
export function elasticsearchClientFrom(
  c: Partial<ConnectionSettings>,
  env: NodeJS.ProcessEnv,
  who: string,
): Client {
  const url = c.elasticsearchUrl || env['ELASTICSEARCH_URL'] || '';
  if (!url) throw new Error(`${who} needs CITYSOC_ELASTICSEARCH_URL (or ELASTICSEARCH_URL)`);
  return createElasticsearchClient({
    url,
    ...(c.elasticsearchApiKey ? { apiKey: c.elasticsearchApiKey } : {}),
    ...(c.elasticsearchUsername
      ? { username: c.elasticsearchUsername, password: c.elasticsearchPassword }
      : {}),
    ...(c.elasticsearchCaFile ? { caFile: c.elasticsearchCaFile } : {}),
  });
}

/**
 * The settings of incidentStoreOptions (@citysoc/config); the Elasticsearch connection settings
 * (eventStoreOptions) are optional here so apps without an event store (the responder) can include them
 * only when they need them.
 */
export type IncidentStoreSettings = {
  incidentStore: 'sqlite' | 'elasticsearch';
} & Partial<ConnectionSettings>;

/** Raised when the incident store setting names a store this build cannot open. */
export class IncidentStoreConfigError extends Error {
  readonly code = 'incident_store_config';
}

/**
 * The incident store every app opens incidents through (`CITYSOC_INCIDENT_STORE`). SQLite shares the
 * control database (`citysoc.sqlite`) with the audit log and tokens, so it is built on the app's
 * ControlStore rather than a second connection to the same file.
 */
export function openIncidentStore(
  c: IncidentStoreSettings,
  control: Pick<ControlStore, 'db'>,
  env: NodeJS.ProcessEnv = process.env,
): IncidentStore {
  switch (c.incidentStore) {
    case 'sqlite':
      return new SqliteIncidentStore(control.db);
    case 'elasticsearch':
      // PLUG-IN POINT (issue 10): once ElasticsearchIncidentStore (libs/store/src/elasticsearch/) is merged,
      // build it here from `elasticsearchClientFrom(c, env, 'CITYSOC_INCIDENT_STORE=elasticsearch')` and
      // replace this error (and its test in factory.spec.ts). Nothing else needs to change: every app opens
      // incidents through this function.
      void env;
      throw new IncidentStoreConfigError(
        'CITYSOC_INCIDENT_STORE=elasticsearch: the Elasticsearch incident store is not available in this build; ' +
          'set CITYSOC_INCIDENT_STORE=sqlite (events can stay on Elasticsearch with CITYSOC_STORE)',
      );
  }
}

/** Installs templates and policies now when the store has any, so a misconfigured cluster fails at start. */
export async function prepareEventStore(store: EventStore): Promise<void> {
  const s = store as Partial<{ install(): Promise<void> }>;
  if (typeof s.install === 'function') await s.install();
}
