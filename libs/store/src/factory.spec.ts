import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventStoreOptions, loadConfig, storeOptions } from '@citysoc/config';
import { ElasticsearchEventStore } from './elasticsearch/event-store';
import { openConfiguredEventStore } from './factory';
import { SqliteEventStore } from './sqlite/event-store';

const schema = { ...storeOptions, ...eventStoreOptions };

describe('openConfiguredEventStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-factory-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens SQLite by default', async () => {
    const store = openConfiguredEventStore(loadConfig(schema, { CITYSOC_DATA_DIR: dir }), {});
    expect(store).toBeInstanceOf(SqliteEventStore);
    await store.close();
  });

  it('switches to Elasticsearch with one setting plus the URL, or ELASTICSEARCH_URL', async () => {
    const a = openConfiguredEventStore(
      loadConfig(schema, {
        CITYSOC_DATA_DIR: dir,
        CITYSOC_STORE: 'elasticsearch',
        CITYSOC_ELASTICSEARCH_URL: 'http://es1:9200,http://es2:9200',
        CITYSOC_ELASTICSEARCH_API_KEY: 'aWQ6a2V5',
      }),
      {},
    );
    expect(a).toBeInstanceOf(ElasticsearchEventStore);
    const b = openConfiguredEventStore(
      loadConfig(schema, { CITYSOC_DATA_DIR: dir, CITYSOC_STORE: 'elasticsearch' }),
      {
        ELASTICSEARCH_URL: 'http://es:9200',
      },
    );
    expect(b).toBeInstanceOf(ElasticsearchEventStore);
    await a.close();
    await b.close();
  });

  it('refuses Elasticsearch without a URL, an unknown store, and bad namespaces', () => {
    expect(() =>
      openConfiguredEventStore(
        loadConfig(schema, { CITYSOC_DATA_DIR: dir, CITYSOC_STORE: 'elasticsearch' }),
        {},
      ),
    ).toThrow(/CITYSOC_ELASTICSEARCH_URL/);
    expect(() => loadConfig(schema, { CITYSOC_STORE: 'mongodb' })).toThrow(/one of sqlite, elasticsearch/);
    expect(() =>
      openConfiguredEventStore(
        loadConfig(schema, {
          CITYSOC_DATA_DIR: dir,
          CITYSOC_STORE: 'elasticsearch',
          CITYSOC_ELASTICSEARCH_URL: 'http://es:9200',
          CITYSOC_ELASTICSEARCH_NAMESPACE: 'Live-1',
        }),
        {},
      ),
    ).toThrow(/namespace/);
  });
});
