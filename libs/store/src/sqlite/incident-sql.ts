import { isDrill } from '@citysoc/drills';
import { type UnitScope } from '../incident-port';
import { type Db } from './db';

export function scopeClause(scope: UnitScope, column = 'unit_path'): { sql: string; args: unknown[] } {
  if (scope === undefined) return { sql: '1 = 1', args: [] };
  const like = scope.replace(/[\\%_]/g, (c) => `\\${c}`) + '/%';
  return { sql: `(${column} = ? OR ${column} LIKE ? ESCAPE '\\')`, args: [scope, like] };
}

/**
 * THE SQL condition for KPI and SLA statistics: pure drill incidents out, mixed ones (real) in. It calls
 * libs/drills isDrill through the SQLite function citysoc_is_drill, so SQL and code share one tested rule.
 * `alias` is the incidents table's name in the query. Every statistic over incidents uses it: a guard test
 * (libs/store/src/sqlite/drill-filter.spec.ts) fails on an aggregate over incidents that does not.
 */
export function realIncidentsSql(alias = 'incidents'): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(alias)) throw new Error(`bad table alias ${alias}`);
  return `citysoc_is_drill(${alias}.tags) = 0`;
}
/** The same for queries that name the table `incidents`. */
export const REAL_INCIDENTS_SQL = realIncidentsSql();
/** The complement, for the drill-only counters kept next to the real ones (visible, never mixed in). */
export function drillIncidentsSql(alias = 'incidents'): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(alias)) throw new Error(`bad table alias ${alias}`);
  return `citysoc_is_drill(${alias}.tags) = 1`;
}

/**
 * The shared drill filter (libs/drills isDrill) as an SQL function, so every KPI/SLA query excludes drill
 * incidents with the same, tested rule: REAL_INCIDENTS_SQL. The control store registers it on open, so the
 * SQL statistics work whichever incident store the app opened.
 */
export function registerDrillFunction(db: Db): void {
  db.function('citysoc_is_drill', { deterministic: true }, (tags: unknown) =>
    typeof tags === 'string' && isDrill({ tags: JSON.parse(tags) as string[] }) ? 1 : 0,
  );
}
