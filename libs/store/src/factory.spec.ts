import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventStoreOptions, incidentStoreOptions, loadConfig, storeOptions } from '@citysoc/config';
import { ElasticsearchEventStore } from './elasticsearch/event-store';
import { ElasticsearchIncidentStore } from './elasticsearch/incident-store';
import {
  IncidentStoreConfigError,
  openConfiguredEventStore,
  openIncidentStore,
  upkeepIncidentStore,
} from './factory';
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

  it('opens SQLite in the control database when asked, even when events are on Elasticsearch', async () => {
    const c = loadConfig(incidentSchema, {
      CITYSOC_DATA_DIR: dir,
      CITYSOC_STORE: 'elasticsearch',
      CITYSOC_INCIDENT_STORE: 'sqlite',
    });
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

  it('opens the Elasticsearch incident store with one setting, and refuses it without an address', async () => {
    const control = openControlStore(dir);
    try {
      const c = loadConfig(incidentSchema, {
        CITYSOC_DATA_DIR: dir,
        CITYSOC_INCIDENT_STORE: 'elasticsearch',
        CITYSOC_ELASTICSEARCH_URL: 'http://es:9200',
      });
      const es = openIncidentStore(c, control, {});
      expect(es).toBeInstanceOf(ElasticsearchIncidentStore);
      const fromEnv = openIncidentStore(
        loadConfig(incidentSchema, { CITYSOC_DATA_DIR: dir, CITYSOC_INCIDENT_STORE: 'elasticsearch' }),
        control,
        { ELASTICSEARCH_URL: 'http://es:9200' },
      );
      expect(fromEnv).toBeInstanceOf(ElasticsearchIncidentStore);
      const bare = loadConfig(incidentSchema, {
        CITYSOC_DATA_DIR: dir,
        CITYSOC_INCIDENT_STORE: 'elasticsearch',
      });
      expect(() => openIncidentStore(bare, control, {})).toThrow(IncidentStoreConfigError);
      expect(() => openIncidentStore(bare, control, {})).toThrow(/CITYSOC_ELASTICSEARCH_URL/);
      // SQLite needs no upkeep; the Elasticsearch store's pass is exercised against the fake cluster.
      expect(
        await upkeepIncidentStore(openIncidentStore({ incidentStore: 'sqlite' }, control, {})),
      ).toBeUndefined();
    } finally {
      control.close();
    }
    expect(() => loadConfig(incidentSchema, { CITYSOC_INCIDENT_STORE: 'mongodb' })).toThrow(
      /one of auto, sqlite, elasticsearch/,
    );
  });

  it('auto follows CITYSOC_STORE: one setting moves incidents too, on a database that holds none', async () => {
    const control = openControlStore(dir);
    try {
      const sqlite = loadConfig(incidentSchema, { CITYSOC_DATA_DIR: dir });
      expect(sqlite.incidentStore).toBe('auto');
      expect(openIncidentStore(sqlite, control, {})).toBeInstanceOf(SqliteIncidentStore);
      const es = loadConfig(incidentSchema, {
        CITYSOC_DATA_DIR: dir,
        CITYSOC_STORE: 'elasticsearch',
        CITYSOC_ELASTICSEARCH_URL: 'http://es:9200',
      });
      expect(openIncidentStore(es, control, {})).toBeInstanceOf(ElasticsearchIncidentStore);
    } finally {
      control.close();
    }
  });

  it('auto refuses to leave incidents already in SQLite behind, naming the ways out', async () => {
    const control = openControlStore(dir);
    try {
      const local = openIncidentStore({ incidentStore: 'sqlite' }, control, {});
      await local.recordAlert(
        {
          id: 'a1',
          '@timestamp': '2026-11-27T10:00:00.000Z',
          rule: { id: 'r1', title: 'Rule', level: 'high', tags: [] },
          severity: 'high',
          entity: '10.0.0.1',
          event: { '@timestamp': '2026-11-27T10:00:00.000Z', message: 'x' },
        } as never,
        60_000,
      );
      const es = loadConfig(incidentSchema, {
        CITYSOC_DATA_DIR: dir,
        CITYSOC_STORE: 'elasticsearch',
        CITYSOC_ELASTICSEARCH_URL: 'http://es:9200',
      });
      expect(() => openIncidentStore(es, control, {})).toThrow(IncidentStoreConfigError);
      expect(() => openIncidentStore(es, control, {})).toThrow(
        /holds 1 incident.*migrate-incidents.*CITYSOC_INCIDENT_STORE=sqlite/,
      );
      // An explicit choice is taken as given (after a migration, or to keep them in SQLite).
      expect(openIncidentStore({ ...es, incidentStore: 'elasticsearch' }, control, {})).toBeInstanceOf(
        ElasticsearchIncidentStore,
      );
      expect(openIncidentStore({ ...es, incidentStore: 'sqlite' }, control, {})).toBeInstanceOf(
        SqliteIncidentStore,
      );
    } finally {
      control.close();
    }
  });
});
