import { drillRunOf } from '@citysoc/drills';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { existsSync, statSync } from 'node:fs';
import {
  type AlertQuery,
  type EventAggregateQuery,
  type EventAggregates,
  type EventQuery,
  type EventStore,
  type Page,
  type StorageInfo,
  type WriteResult,
} from '../ports';
import {
  clampLimit,
  decodeCursor,
  type Db,
  encodeCursor,
  jsonPath,
  openDatabase,
  toMs,
  validateAggregate,
} from './db';

/** Exported for the migration test (drill column backfill). */
export const EVENT_STORE_MIGRATIONS = [
  `CREATE TABLE events (
     id TEXT PRIMARY KEY,
     ts INTEGER NOT NULL,
     ingested INTEGER NOT NULL,
     message TEXT,
     doc TEXT NOT NULL
   );
   CREATE INDEX events_ts ON events (ts, id);
   -- Contentless index fed with folded text (see foldForSearch): the documents live in events.doc.
   CREATE VIRTUAL TABLE events_fts USING fts5 (message, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
   CREATE TABLE alerts (
     id TEXT PRIMARY KEY,
     ts INTEGER NOT NULL,
     rule_id TEXT NOT NULL,
     level TEXT NOT NULL,
     entity TEXT NOT NULL,
     doc TEXT NOT NULL
   );
   CREATE INDEX alerts_ts ON alerts (ts, id);
   CREATE INDEX alerts_rule ON alerts (rule_id, ts);`,
  // Drill data apart (issue 9): the run id of a drill-marked event or alert (labels.drill, set only by the
  // collectors from a registered allocation), NULL for real data. Filled from the documents already stored.
  `ALTER TABLE events ADD COLUMN drill TEXT;
   ALTER TABLE alerts ADD COLUMN drill TEXT;
   UPDATE events SET drill = json_extract(doc, '$.labels.drill') WHERE json_type(doc, '$.labels.drill') = 'text';
   UPDATE alerts SET drill = json_extract(doc, '$.event.labels.drill') WHERE json_type(doc, '$.event.labels.drill') = 'text';
   CREATE INDEX events_drill ON events (drill) WHERE drill IS NOT NULL;
   CREATE INDEX alerts_drill ON alerts (drill) WHERE drill IS NOT NULL;`,
];

/** The embedded event store: one SQLite file, FTS5 for full text, JSON documents for field filters. */
export class SqliteEventStore implements EventStore {
  private readonly db: Db;
  private readonly insertEventStmt;
  private readonly insertAlertStmt;
  private readonly insertFtsStmt;

  constructor(private readonly file: string) {
    this.db = openDatabase(file, EVENT_STORE_MIGRATIONS);
    this.insertEventStmt = this.db.prepare(
      'INSERT OR IGNORE INTO events (id, ts, ingested, message, doc, drill) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.insertFtsStmt = this.db.prepare('INSERT INTO events_fts (rowid, message) VALUES (?, ?)');
    this.insertAlertStmt = this.db.prepare(
      'INSERT OR IGNORE INTO alerts (id, ts, rule_id, level, entity, doc, drill) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  async insertEvents(events: EcsEvent[]): Promise<number> {
    const now = Date.now();
    const ingested = new Date(now).toISOString();
    const tx = this.db.transaction((batch: EcsEvent[]) => {
      let n = 0;
      for (const e of batch) {
        const doc = { ...e, event: { ...e.event, ingested } };
        const ts = Date.parse(e['@timestamp']);
        const r = this.insertEventStmt.run(
          e.event.id,
          Number.isNaN(ts) ? now : ts,
          now,
          e.message ?? null,
          JSON.stringify(doc),
          drillRunOf(e) ?? null,
        );
        if (r.changes === 1 && e.message) this.insertFtsStmt.run(r.lastInsertRowid, foldForSearch(e.message));
        n += r.changes;
      }
      return n;
    });
    return tx.immediate(events);
  }

  /** SQLite stores any JSON document: nothing is ever rejected per item. */
  async writeEvents(events: EcsEvent[]): Promise<WriteResult<EcsEvent>> {
    const inserted = await this.insertEvents(events);
    return { inserted, duplicates: events.length - inserted, rejected: [] };
  }

  async writeAlerts(alerts: Alert[]): Promise<WriteResult<Alert>> {
    const inserted = await this.insertAlerts(alerts);
    return { inserted, duplicates: alerts.length - inserted, rejected: [] };
  }

  async searchEvents(q: EventQuery): Promise<Page<EcsEvent>> {
    const { where, args } = this.eventWhere(q);
    if (q.after) {
      const [ts, id] = decodeCursor(q.after);
      where.push('(e.ts < ? OR (e.ts = ? AND e.id < ?))');
      args.push(ts, ts, id);
    }
    const limit = clampLimit(q.limit);
    const sql = `SELECT e.id, e.ts, e.doc FROM events e ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY e.ts DESC, e.id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, limit + 1) as Array<{
      id: string;
      ts: number;
      doc: string;
    }>;
    return page(rows, limit, (r) => JSON.parse(r.doc) as EcsEvent);
  }

  async aggregateEvents(q: EventAggregateQuery): Promise<EventAggregates> {
    const { intervalMs, top, topN } = validateAggregate(q);
    const { where, args } = this.eventWhere(q);
    const w = where.length ? 'WHERE ' + where.join(' AND ') : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM events e ${w}`).get(...args) as { n: number })
      .n;
    // Integer division floors non-negative timestamps onto bucket starts, aligned to the epoch like ES
    // (the CAST: better-sqlite3 binds JS numbers as REAL, which would make it a real division).
    const buckets = this.db
      .prepare(
        `SELECT (e.ts / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS b, COUNT(*) AS n FROM events e ${w} GROUP BY b ORDER BY b`,
      )
      .all(intervalMs, intervalMs, ...args) as Array<{ b: number; n: number }>;
    const out: EventAggregates['top'] = {};
    for (const field of top) {
      const path = jsonPath(field);
      const rows = this.db
        .prepare(
          `SELECT CAST(json_extract(e.doc, ?) AS TEXT) AS v, COUNT(*) AS n FROM events e ${w ? w + ' AND' : 'WHERE'} json_type(e.doc, ?) IN ('text', 'integer', 'real', 'true', 'false') GROUP BY v ORDER BY n DESC, v LIMIT ?`,
        )
        .all(path, ...args, path, topN) as Array<{ v: string; n: number }>;
      out[field] = rows.map((r) => ({ value: r.v, count: r.n }));
    }
    return {
      total,
      intervalMs,
      histogram: buckets.map((r) => ({ start: new Date(r.b).toISOString(), count: r.n })),
      top: out,
    };
  }

  private eventWhere(q: Omit<EventQuery, 'limit' | 'after'>): { where: string[]; args: unknown[] } {
    const where: string[] = [];
    const args: unknown[] = [];
    const from = toMs(q.from, 'from');
    const to = toMs(q.to, 'to');
    if (from !== undefined) {
      where.push('e.ts >= ?');
      args.push(from);
    }
    if (to !== undefined) {
      where.push('e.ts < ?');
      args.push(to);
    }
    if (q.scope !== undefined) {
      const sc = unitScopeJson(q.scope, 'e.doc', '$.citysoc');
      where.push(sc.sql);
      args.push(...sc.args);
    }
    for (const [field, value] of Object.entries(q.fields ?? {})) {
      where.push('CAST(json_extract(e.doc, ?) AS TEXT) = ?');
      args.push(jsonPath(field), value);
    }
    const match = ftsQuery(q.text);
    if (match) {
      where.push('e.rowid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)');
      args.push(match);
    }
    return { where, args };
  }

  async countEvents(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  async insertAlerts(alerts: Alert[]): Promise<number> {
    const tx = this.db.transaction((batch: Alert[]) => {
      let n = 0;
      for (const a of batch) {
        const ts = Date.parse(a['@timestamp']);
        n += this.insertAlertStmt.run(
          a.id,
          Number.isNaN(ts) ? Date.now() : ts,
          a.rule.id,
          a.rule.level,
          a.entity,
          JSON.stringify(a),
          drillRunOf(a) ?? null,
        ).changes;
      }
      return n;
    });
    return tx.immediate(alerts);
  }

  async listAlerts(q: AlertQuery): Promise<Page<Alert>> {
    const where: string[] = [];
    const args: unknown[] = [];
    const from = toMs(q.from, 'from');
    const to = toMs(q.to, 'to');
    if (from !== undefined) {
      where.push('ts >= ?');
      args.push(from);
    }
    if (to !== undefined) {
      where.push('ts < ?');
      args.push(to);
    }
    if (q.ruleId) {
      where.push('rule_id = ?');
      args.push(q.ruleId);
    }
    if (q.level) {
      where.push('level = ?');
      args.push(q.level);
    }
    if (q.entity) {
      where.push('entity = ?');
      args.push(q.entity);
    }
    if (q.drill === 'exclude') where.push('drill IS NULL');
    else if (q.drill === 'only') where.push('drill IS NOT NULL');
    if (q.scope !== undefined) {
      const sc = unitScopeJson(q.scope, 'doc', '$.event.citysoc');
      where.push(sc.sql);
      args.push(...sc.args);
    }
    if (q.after) {
      const [ts, id] = decodeCursor(q.after);
      where.push('(ts < ? OR (ts = ? AND id < ?))');
      args.push(ts, ts, id);
    }
    const limit = clampLimit(q.limit);
    const sql = `SELECT id, ts, doc FROM alerts ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ts DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, limit + 1) as Array<{
      id: string;
      ts: number;
      doc: string;
    }>;
    return page(rows, limit, (r) => JSON.parse(r.doc) as Alert);
  }

  async getAlert(id: string): Promise<Alert | undefined> {
    const row = this.db.prepare('SELECT doc FROM alerts WHERE id = ?').get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Alert) : undefined;
  }

  async getAlerts(ids: string[]): Promise<Alert[]> {
    const out: Alert[] = [];
    const stmt = this.db.prepare('SELECT doc FROM alerts WHERE id = ?');
    for (const id of ids) {
      const row = stmt.get(id) as { doc: string } | undefined;
      if (row) out.push(JSON.parse(row.doc) as Alert);
    }
    return out;
  }

  async getEvents(ids: string[]): Promise<EcsEvent[]> {
    const out: EcsEvent[] = [];
    const stmt = this.db.prepare('SELECT doc FROM events WHERE id = ?');
    for (const id of ids) {
      const row = stmt.get(id) as { doc: string } | undefined;
      if (row) out.push(JSON.parse(row.doc) as EcsEvent);
    }
    return out;
  }

  async countAlerts(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM alerts').get() as { n: number }).n;
  }

  async storageInfo(): Promise<StorageInfo> {
    const size = (f: string) => (f !== ':memory:' && existsSync(f) ? statSync(f).size : 0);
    return {
      engine: 'sqlite',
      status: 'ok',
      events: await this.countEvents(),
      alerts: await this.countAlerts(),
      bytes: size(this.file) + size(`${this.file}-wal`),
    };
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * A unit scope over JSON documents: the event's reporting unit, source unit or destination unit lies in the
 * scope's subtree (path arrays compared element by element, so `hanoi/ba-dinh` never matches `hanoi/ba-dinh-2`).
 */
export function unitScopeJson(scope: string, docCol: string, base: string): { sql: string; args: unknown[] } {
  const parts = scope.split('/');
  const ors: string[] = [];
  const args: unknown[] = [];
  for (const which of ['unit', 'source_unit', 'destination_unit']) {
    const ands = parts.map((_, i) => `json_extract(${docCol}, '${base}.${which}.path[${i}]') = ?`);
    ors.push(`(${ands.join(' AND ')})`);
    args.push(...parts);
  }
  return { sql: `(${ors.join(' OR ')})`, args };
}

function page<R extends { id: string; ts: number }, T>(rows: R[], limit: number, map: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(map), ...(more && last ? { next: encodeCursor(last.ts, last.id) } : {}) };
}

/** Each word becomes a quoted FTS5 string, so user input can never be FTS5 query syntax. */
export function ftsQuery(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const words = foldForSearch(text)
    .split(/\s+/)
    .map((w) => w.replace(/"/g, ''))
    .filter((w) => w.length > 0)
    .slice(0, 20);
  return words.length ? words.map((w) => `"${w}"`).join(' ') : undefined;
}

/**
 * FTS5's remove_diacritics strips tone marks but 'đ' is a letter of its own, not d + a mark; Vietnamese
 * analysts often type without either ("dang nhap" must find "Đăng nhập"), so both sides are folded.
 */
export function foldForSearch(text: string): string {
  return text.replace(/[đĐ]/g, (c) => (c === 'đ' ? 'd' : 'D'));
}
