import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventStoreOptions, incidentStoreOptions, loadConfig, storeOptions } from '@citysoc/config';
import { ElasticsearchEventStore } from './elasticsearch/event-store';
import { IncidentStoreConfigError, openConfiguredEventStore, openIncidentStore } from './factory';
import { openControlStore } from './sqlite/control';
import { SqliteEventStore } from './sqlite/event-store';
import { SqliteIncidentStore } from './sqlite/incident-store';

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

describe('openIncidentStore', () => {
  const incidentSchema = { ...storeOptions, ...eventStoreOptions, ...incidentStoreOptions };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-incident-factory-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens SQLite in the control database by default, even when events are on Elasticsearch', async () => {
    const c = loadConfig(incidentSchema, { CITYSOC_DATA_DIR: dir, CITYSOC_STORE: 'elasticsearch' });
    expect(c.incidentStore).toBe('sqlite');
    const control = openControlStore(dir);
    try {
      const store = openIncidentStore(c, control, {});
      expect(store).toBeInstanceOf(SqliteIncidentStore);
      // The same database as the control store: what the store writes, the control store's SQL sees.
      const rule = { id: 'r1', title: 'Rule', level: 'high' as const, tags: [] };
      const alert = {
        id: 'a1',
        '@timestamp': '2026-11-27T10:00:00.000Z',
        rule,
        severity: 'high' as const,
        entity: '10.0.0.1',
        event: { '@timestamp': '2026-11-27T10:00:00.000Z', message: 'x' },
      };
      const { incident } = await store.recordAlert(alert as never, 60_000);
      const row = control.db.prepare('SELECT id FROM incidents').get() as { id: string };
      expect(row.id).toBe(incident.id);
    } finally {
      control.close();
    }
  });

  it('refuses Elasticsearch with a clear configuration error until its store is plugged in', () => {
    const c = loadConfig(incidentSchema, {
      CITYSOC_DATA_DIR: dir,
      CITYSOC_INCIDENT_STORE: 'elasticsearch',
      CITYSOC_ELASTICSEARCH_URL: 'http://es:9200',
    });
    const control = openControlStore(dir);
    try {
      expect(() => openIncidentStore(c, control, {})).toThrow(IncidentStoreConfigError);
      expect(() => openIncidentStore(c, control, {})).toThrow(/CITYSOC_INCIDENT_STORE=sqlite/);
    } finally {
      control.close();
    }
    expect(() => loadConfig(incidentSchema, { CITYSOC_INCIDENT_STORE: 'mongodb' })).toThrow(
      /one of sqlite, elasticsearch/,
    );
  });
});
