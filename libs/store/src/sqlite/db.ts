import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export type Db = Database.Database;

/**
 * Opens an SQLite file in WAL mode: readers never block the single writer, and several processes on one
 * machine (indexer, responder, api) can share a file. synchronous=NORMAL in WAL survives a process crash;
 * only an OS crash can lose the last transactions, which JetStream redelivers since they were not acked.
 */
export function openDatabase(file: string, migrations: readonly string[]): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  migrate(db, migrations);
  return db;
}

function migrate(db: Db, migrations: readonly string[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
  );
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    migrations.forEach((sql, i) => {
      const version = i + 1;
      if (version <= current) return;
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        version,
        new Date().toISOString(),
      );
    });
  });
  apply.immediate();
}

/** Cursor = base64url of (sort key, id), so paging is stable while rows are inserted. */
export function encodeCursor(ts: number, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  throw new StoreQueryError('invalid cursor');
}

export class StoreQueryError extends Error {
  readonly code = 'invalid_query';
}

/** `source.ip` → `$."source"."ip"`; rejects anything but plain ECS field names. */
export function jsonPath(field: string): string {
  if (!/^[A-Za-z0-9_@][A-Za-z0-9_@.-]{0,199}$/.test(field) || field.includes('..'))
    throw new StoreQueryError(`invalid field name: ${field}`);
  return (
    '$' +
    field
      .split('.')
      .map((s) => `."${s}"`)
      .join('')
  );
}

export function toMs(iso: string | undefined, name: string): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new StoreQueryError(`${name} is not an ISO 8601 time: ${iso}`);
  return t;
}

/** Shared bounds for EventStore.aggregateEvents, so both stores refuse the same requests. */
export function validateAggregate(q: { intervalMs: number; top: string[]; topN?: number }): {
  intervalMs: number;
  top: string[];
  topN: number;
} {
  if (!Number.isInteger(q.intervalMs) || q.intervalMs < 1000 || q.intervalMs > 366 * 86_400_000)
    throw new StoreQueryError('intervalMs must be an integer between 1 s and 366 days');
  if (q.top.length > 10) throw new StoreQueryError('at most 10 top-value fields');
  const topN = q.topN ?? 10;
  if (!Number.isInteger(topN) || topN < 1 || topN > 50)
    throw new StoreQueryError('topN must be an integer between 1 and 50');
  for (const f of q.top) jsonPath(f);
  return { intervalMs: q.intervalMs, top: [...new Set(q.top)], topN };
}

export function clampLimit(limit: number | undefined, max = 1000): number {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1) throw new StoreQueryError('limit must be a positive integer');
  return Math.min(limit, max);
}
