import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markDrillEvent } from '@citysoc/drills';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { openControlStore } from '../index';
import { openDatabase } from './db';
import { EVENT_STORE_MIGRATIONS, SqliteEventStore } from './event-store';
import { REAL_INCIDENTS_SQL, realIncidentsSql, SqliteIncidentStore } from './incident-store';

/**
 * Drill data never reaches a statistic (issue 9). Two checks:
 * 1. the statistics the store computes give the same answer with and without a drill incident beside the
 *    real one (and a mixed incident counts as real);
 * 2. a guard over the source tree: every SQL aggregate over `incidents` in apps/ and libs/ uses the shared
 *    filter (REAL_INCIDENTS_SQL / realIncidentsSql / drillIncidentsSql), or is one of the operational views
 *    listed below with the reason it must include drills. A new statistic without the filter fails here.
 */
const root = path.resolve(__dirname, '..', '..', '..', '..');

function alert(id: string, entity: string, run?: string): Alert {
  const t = '2026-11-27T03:00:00.000Z';
  let event: EcsEvent = { '@timestamp': t, event: { id: `ev-${id}`, created: t } };
  if (run) event = markDrillEvent(event, run);
  return {
    id,
    '@timestamp': t,
    created_at: t,
    rule: { id: 'r-1', title: 'SSH brute force', level: 'high', version: 'v1' },
    entity,
    event_ids: [event.event.id],
    event,
  };
}

describe('the shared drill filter in statistics', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-drill-filter-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the SLA report and a REAL_INCIDENTS_SQL count are the same with and without drill incidents', async () => {
    const stats = async (withDrill: boolean) => {
      const control = openControlStore(path.join(dir, withDrill ? 'with' : 'without'));
      const incidents = new SqliteIncidentStore(control.db);
      try {
        const real = (await incidents.recordAlert(alert('a-real', 'source.ip:10.0.0.1'), 60_000)).incident;
        await incidents.recordSlaBreach(real.id, 'acknowledge', Date.now());
        // A mixed incident (drill alert joined by a real one) is real: it stays in the statistics.
        await incidents.recordAlert(alert('a-mix1', 'source.ip:10.0.0.2', 'd-STATS001'), 60_000);
        await incidents.recordAlert(alert('a-mix2', 'source.ip:10.0.0.2'), 60_000);
        if (withDrill) {
          const d = (
            await incidents.recordAlert(alert('a-drill', 'source.ip:10.0.0.3', 'd-STATS001'), 60_000)
          ).incident;
          await incidents.recordSlaBreach(d.id, 'acknowledge', Date.now());
          await incidents.recordSlaBreach(d.id, 'resolve', Date.now());
        }
        const count = control.db
          .prepare(`SELECT COUNT(*) AS n FROM incidents WHERE ${REAL_INCIDENTS_SQL}`)
          .get() as { n: number };
        const aliased = control.db
          .prepare(`SELECT COUNT(*) AS n FROM incidents x WHERE ${realIncidentsSql('x')}`)
          .get() as { n: number };
        const all = control.db.prepare('SELECT COUNT(*) AS n FROM incidents').get() as { n: number };
        return { report: await incidents.slaReport({}), count: count.n, aliased: aliased.n, all: all.n };
      } finally {
        control.close();
      }
    };
    const without = await stats(false);
    const withDrill = await stats(true);
    // The drill incident is stored (3 vs 2) …
    expect([without.all, withDrill.all]).toEqual([2, 3]);
    // … and no statistic sees it.
    expect(withDrill.report).toEqual(without.report);
    expect([withDrill.count, withDrill.aliased]).toEqual([2, 2]);
    expect(without.report).toEqual([
      expect.objectContaining({ incidents: 2, acknowledge_breaches: 1, resolve_breaches: 0 }),
    ]);
  });

  it('refuses an alias that is not a plain identifier (it is pasted into SQL)', async () => {
    expect(() => realIncidentsSql('i; DROP TABLE incidents')).toThrow('bad table alias');
  });
});

describe('drill events and alerts stored apart (SQLite drill column)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-drill-column-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fills the column on insert and lists alerts without, or only, drills', async () => {
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    try {
      const real = alert('a-real', 'source.ip:10.0.0.1');
      const drill = alert('a-drill', 'source.ip:10.0.0.3', 'd-COLUMN01');
      await store.insertEvents([real.event, drill.event]);
      await store.insertAlerts([real, drill]);
      const ids = async (q: Parameters<SqliteEventStore['listAlerts']>[0]) =>
        (await store.listAlerts(q)).items.map((a) => a.id).sort();
      expect(await ids({})).toEqual(['a-drill', 'a-real']);
      expect(await ids({ drill: 'exclude' })).toEqual(['a-real']);
      expect(await ids({ drill: 'only' })).toEqual(['a-drill']);
    } finally {
      await store.close();
    }
  });

  it('the migration backfills the column from documents stored before it', async () => {
    const file = path.join(dir, 'old.db');
    const old = openDatabase(file, EVENT_STORE_MIGRATIONS.slice(0, 1));
    const drill = alert('a-old-drill', 'source.ip:10.0.0.3', 'd-COLUMN02');
    const real = alert('a-old-real', 'source.ip:10.0.0.1');
    for (const a of [drill, real]) {
      old
        .prepare('INSERT INTO alerts (id, ts, rule_id, level, entity, doc) VALUES (?, ?, ?, ?, ?, ?)')
        .run(a.id, 1, a.rule.id, a.rule.level, a.entity, JSON.stringify(a));
      old
        .prepare('INSERT INTO events (id, ts, ingested, message, doc) VALUES (?, ?, ?, ?, ?)')
        .run(a.event.event.id, 1, 1, null, JSON.stringify(a.event));
    }
    old.close();
    const store = new SqliteEventStore(file);
    try {
      expect((await store.listAlerts({ drill: 'only' })).items.map((a) => a.id)).toEqual(['a-old-drill']);
      const db = openDatabase(file, EVENT_STORE_MIGRATIONS);
      expect(db.prepare('SELECT id, drill FROM events ORDER BY id').all()).toEqual([
        { id: 'ev-a-old-drill', drill: 'd-COLUMN02' },
        { id: 'ev-a-old-real', drill: null },
      ]);
      db.close();
    } finally {
      await store.close();
    }
  });
});

/**
 * Aggregates over incidents that deliberately include drill incidents, each with its reason. Matching is by
 * file and a snippet of the statement.
 */
const OPERATIONAL: Array<{ file: string; snippet: string; why: string }> = [
  {
    file: 'libs/store/src/factory.ts',
    snippet: 'SELECT COUNT(*) AS n FROM incidents',
    why: 'whether SQLite holds incidents before the store switches: drill incidents would be left behind too',
  },
  {
    file: 'libs/store/src/sqlite/incident-aggregates.ts',
    snippet: 'SELECT status AS key, COUNT(*) AS count FROM incidents',
    why: 'queue depth by status: the work on the desk; hiding drills would tell analysts which are drills',
  },
  {
    file: 'libs/store/src/sqlite/incident-aggregates.ts',
    snippet: 'SELECT COUNT(*) AS n FROM incidents WHERE ${sc.sql} AND ${OPEN} AND ${DUE_SQL}',
    why: 'incidents about to breach: a work list, blind mode keeps drills in it',
  },
  {
    file: 'libs/store/src/sqlite/incident-aggregates.ts',
    snippet: "SELECT COALESCE(unit_path, '') AS path",
    why: 'units tree with open work per unit (operational, blind mode)',
  },
  {
    file: 'libs/store/src/sqlite/incident-aggregates.ts',
    snippet: "json_each(incidents.mitre, '${path}')",
    why: 'ATT&CK page: incidents seen per tactic and per technique; the drill layer is part of that page',
  },
  {
    file: 'libs/store/src/sqlite/incident-aggregates.ts',
    snippet: 't.value AS tactic, q.value AS technique, COUNT(*)',
    why: 'ATT&CK grid: (tactic, technique) pairs of incidents seen, drills included as on the ATT&CK page',
  },
  {
    file: 'libs/store/src/sqlite/incident-queue.ts',
    snippet: 'SELECT COUNT(*) AS n FROM incidents WHERE ${w.sql}',
    why: 'queue pagination total and bulk-action preview: the same list the analyst pages through and acts on',
  },
  {
    file: 'libs/store/src/sqlite/incident-queue.ts',
    snippet: 'COUNT(*) AS count, MAX(',
    why: 'queue grouping for the work list (operational, blind mode)',
  },
  {
    file: 'libs/store/src/elasticsearch/migrate.ts',
    snippet: "n('SELECT COUNT(*) AS n FROM incidents')",
    why: 'migration source counts: every incident, drills included, is copied and compared with the target',
  },
  {
    file: 'libs/store/src/sqlite/incident-store.ts',
    snippet: "FROM incidents WHERE ${where.join(' AND ')}",
    why: 'NOT an exception: slaReport builds `where` from [scope, REAL_INCIDENTS_SQL] just above (tested above)',
  },
];

const SKIP_DIRS = new Set(['node_modules', 'dist', 'testdata', 'test-data']);
/** The React console has no SQL. */
const SKIP_PATHS = new Set([path.join(root, 'apps', 'console')]);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!SKIP_DIRS.has(name) && !SKIP_PATHS.has(p)) sources(p, out);
    } else if (name.endsWith('.ts') && !/\.(spec|int|test|e2e)\.ts$/.test(name)) out.push(p);
  }
  return out;
}

/**
 * The SQL statements naming `FROM incidents` or a computed `FROM ${…}` (which may be incidents): for each occurrence, the literal around it — back to the
 * nearest backtick or double quote (SQL here quotes values with single quotes, so that is the opening
 * delimiter) and on to the same delimiter.
 */
function statements(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\bFROM\s+(?:incidents\b|\$\{)/gi)) {
    const at = m.index;
    const open = Math.max(text.lastIndexOf('`', at), text.lastIndexOf('"', at));
    if (open < 0) continue;
    const close = text.indexOf(text[open]!, at);
    if (close < 0) continue;
    out.push(text.slice(open, close + 1));
  }
  return out;
}

describe('every statistic over incidents uses the shared drill filter (source guard)', () => {
  const files = [...sources(path.join(root, 'apps')), ...sources(path.join(root, 'libs'))];
  const aggregates = files.flatMap((f) =>
    statements(readFileSync(f, 'utf8'))
      .filter((l) => /\b(COUNT|SUM|AVG|MIN|MAX)\s*\(/i.test(l))
      .map((sql) => ({ file: path.relative(root, f), sql })),
  );

  it('finds the aggregates (the scan is not vacuous)', async () => {
    expect(aggregates.length).toBeGreaterThan(10);
    expect(aggregates.some((a) => a.file === 'libs/store/src/sqlite/incident-store.ts')).toBe(true);
  });

  it('each is filtered or a listed operational view', async () => {
    const filtered = (sql: string) =>
      /REAL_INCIDENTS_SQL|realIncidentsSql\(|drillIncidentsSql\(|\$\{where/.test(sql);
    const unlisted = aggregates
      .filter((a) => !filtered(a.sql))
      .filter((a) => !OPERATIONAL.some((o) => o.file === a.file && a.sql.includes(o.snippet)))
      .map((a) => `${a.file}: ${a.sql.replace(/\s+/g, ' ').slice(0, 160)}`);
    expect(unlisted).toEqual([]);
  });

  it('every listed operational view still exists (the list does not rot)', async () => {
    const stale = OPERATIONAL.filter(
      (o) => !aggregates.some((a) => a.file === o.file && a.sql.includes(o.snippet)),
    ).map((o) => `${o.file}: ${o.snippet}`);
    expect(stale).toEqual([]);
  });
});
