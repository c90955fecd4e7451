import { type EventStore } from './ports';
import { openEventStore } from './sqlite/control';
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
  const url = c.elasticsearchUrl || env['ELASTICSEARCH_URL'] || '';
  if (!url)
    throw new Error('CITYSOC_STORE=elasticsearch needs CITYSOC_ELASTICSEARCH_URL (or ELASTICSEARCH_URL)');
  const client = createElasticsearchClient({
    url,
    ...(c.elasticsearchApiKey ? { apiKey: c.elasticsearchApiKey } : {}),
    ...(c.elasticsearchUsername
      ? { username: c.elasticsearchUsername, password: c.elasticsearchPassword }
      : {}),
    ...(c.elasticsearchCaFile ? { caFile: c.elasticsearchCaFile } : {}),
  });
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

/** Installs templates and policies now when the store has any, so a misconfigured cluster fails at start. */
export async function prepareEventStore(store: EventStore): Promise<void> {
  const s = store as Partial<{ install(): Promise<void> }>;
  if (typeof s.install === 'function') await s.install();
}
