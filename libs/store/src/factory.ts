import { type Client } from '@elastic/elasticsearch';
import { type IncidentStore } from './incident-port';
import { type EventStore } from './ports';
import { type ControlStore, openEventStore } from './sqlite/control';
import { SqliteIncidentStore } from './sqlite/incident-store';
import { createElasticsearchClient } from './elasticsearch/client';
import { ElasticsearchEventStore } from './elasticsearch/event-store';
import { ElasticsearchIncidentStore } from './elasticsearch/incident-store';
import { type MappingUpgrade } from './elasticsearch/mapping-upgrade';
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
  incidentStore: 'auto' | 'sqlite' | 'elasticsearch';
  /** CITYSOC_STORE, which 'auto' follows; absent means sqlite. */
  store?: 'sqlite' | 'elasticsearch';
} & Partial<ConnectionSettings>;

/**
 * The store 'auto' stands for: CITYSOC_STORE's, except that incidents already in the SQLite tables are never
 * left behind silently (they would vanish from the console): then the start is refused with the ways out.
 */
export function resolveIncidentStore(
  c: Pick<IncidentStoreSettings, 'incidentStore' | 'store'>,
  control: Pick<ControlStore, 'db'>,
): 'sqlite' | 'elasticsearch' {
  if (c.incidentStore !== 'auto') return c.incidentStore;
  if ((c.store ?? 'sqlite') === 'sqlite') return 'sqlite';
  const held = control.db.prepare(`SELECT COUNT(*) AS n FROM incidents`).get() as { n: number };
  if (held.n > 0)
    throw new IncidentStoreConfigError(
      `CITYSOC_STORE=elasticsearch would move incidents to Elasticsearch, but the SQLite database holds ${held.n} ` +
        'incident(s): copy them with `citysoc store migrate-incidents` and then set CITYSOC_INCIDENT_STORE=elasticsearch, ' +
        'or keep them in SQLite with CITYSOC_INCIDENT_STORE=sqlite',
    );
  return 'elasticsearch';
}

/** Raised when the incident store settings cannot open a store (Elasticsearch without an address). */
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
  switch (resolveIncidentStore(c, control)) {
    case 'sqlite':
      return new SqliteIncidentStore(control.db);
    case 'elasticsearch':
      if (!c.elasticsearchUrl && !env['ELASTICSEARCH_URL'])
        throw new IncidentStoreConfigError(
          'CITYSOC_INCIDENT_STORE=elasticsearch needs CITYSOC_ELASTICSEARCH_URL (or ELASTICSEARCH_URL)',
        );
      // No audit log of its own here: the API audits every human action (its audit interceptor writes the
      // hash-chained log in the control database) whichever store holds the incident, so an outbox entry
      // as well would record each action twice.
      return new ElasticsearchIncidentStore(
        elasticsearchClientFrom(c, env, 'CITYSOC_INCIDENT_STORE=elasticsearch'),
      );
  }
}

/** Installs templates and policies now when the store has any, so a misconfigured cluster fails at start. */
export async function prepareEventStore(store: EventStore): Promise<void> {
  const s = store as Partial<{ install(): Promise<void> }>;
  if (typeof s.install === 'function') await s.install();
}

/**
 * Installs the incident index templates when the store has any (Elasticsearch), so a refusal stops the start,
 * and says through `log` which existing indices got the fields a newer release maps (re-indexed in the
 * background by an `_update_by_query` task).
 */
export async function prepareIncidentStore(
  store: IncidentStore,
  log: (message: string) => void = () => undefined,
): Promise<void> {
  const s = store as Partial<{ install(): Promise<MappingUpgrade[] | void> }>;
  if (typeof s.install !== 'function') return;
  for (const u of (await s.install()) ?? [])
    log(
      `incident index ${u.index}: mapped ${u.added.length} field(s) of this release (${u.added.join(', ')}); documents written before are re-indexed by task ${u.task ?? '(none)'}`,
    );
}

/** What one maintenance pass of an incident store finished. */
export interface IncidentStoreUpkeep {
  /** Merges and splits left half-done by a crash, completed or undone. */
  completed: number;
  /** Incidents whose audit outbox still holds entries after the pass. */
  auditPending: number;
}

/**
 * One maintenance pass: an Elasticsearch incident store has no transactions, so a crash in a merge or split
 * leaves an intent that a later pass completes or undoes (`completePending`), and outbox entries that a pass
 * drains. SQLite needs none (each call is one transaction): undefined.
 */
export async function upkeepIncidentStore(store: IncidentStore): Promise<IncidentStoreUpkeep | undefined> {
  if (!(store instanceof ElasticsearchIncidentStore)) return undefined;
  const completed = await store.completePending();
  const { pending } = await store.docs.drainPending();
  return { completed, auditPending: pending };
}
