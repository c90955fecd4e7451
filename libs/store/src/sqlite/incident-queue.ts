import {
  type IncidentActivity,
  type IncidentChange,
  type QueueContext,
  type QueueFilter,
  type QueueGroup,
  type QueuePageResult,
  filterTime,
  foldVi,
  RANK_SEVERITY,
  startOfDayHcm,
} from '../incident-queue-port';
import { type UnitScope } from '../incident-port';
import { type Db } from './db';

// IncidentQueueViews on the SQLite incidents table (SqliteIncidentStore delegates here).

/** The unit subtree clause (same semantics as the incident store's): a path and everything below it. */
function scopeClause(scope: UnitScope, column = 'unit_path'): { sql: string; args: unknown[] } {
  if (scope === undefined) return { sql: '1 = 1', args: [] };
  const like = scope.replace(/[\\%_]/g, (c) => `\\${c}`) + '/%';
  return { sql: `(${column} = ? OR ${column} LIKE ? ESCAPE '\\')`, args: [scope, like] };
}

const OPEN = "status IN ('new','acknowledged','in_progress')";
const CLOSED = "status IN ('resolved','false_positive','duplicate')";
/** The deadline that matters now: acknowledge while new, resolve afterwards; none once closed. */
export const DUE_SQL = `(CASE WHEN status = 'new' THEN COALESCE(json_extract(sla, '$.acknowledge_due'), json_extract(sla, '$.resolve_due'))
  WHEN ${OPEN} THEN json_extract(sla, '$.resolve_due') END)`;
const SEVERITY_RANK = `(CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 ELSE 1 END)`;
/** SLA risk first (nearest deadline, none last), then severity, then priority (unit criticality). */
export const QUEUE_ORDER = `COALESCE(${DUE_SQL}, 9e15) ASC, ${SEVERITY_RANK} DESC, priority DESC, created_at DESC, id DESC`;

function like(v: string): string {
  return `%${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** WHERE clause (and its arguments) for a view + filters within the caller's unit scope. */
export function queueWhere(f: QueueFilter, ctx: QueueContext): { sql: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const sc = scopeClause(ctx.scope);
  where.push(sc.sql);
  args.push(...sc.args);
  switch (f.view) {
    case 'unclaimed':
      where.push("status = 'new'");
      break;
    case 'mine':
      where.push(OPEN, 'assignee = ?');
      args.push(ctx.me);
      break;
    case 'breaching':
      where.push(OPEN, `${DUE_SQL} IS NOT NULL AND ${DUE_SQL} < ?`);
      args.push(ctx.now + ctx.breachingWithinMs);
      break;
    case 'open':
      where.push(OPEN);
      break;
    case 'closed_today':
      where.push(CLOSED, 'closed_at >= ?');
      args.push(startOfDayHcm(ctx.now));
      break;
    case 'all':
      break;
  }
  if (f.severity) {
    where.push('severity = ?');
    args.push(f.severity);
  }
  if (f.unit) {
    const u = scopeClause(f.unit);
    where.push(u.sql);
    args.push(...u.args);
  }
  if (f.rule) {
    where.push('EXISTS (SELECT 1 FROM json_each(incidents.rule_ids) WHERE value = ?)');
    args.push(f.rule);
  }
  if (f.tactic) {
    where.push("EXISTS (SELECT 1 FROM json_each(incidents.mitre, '$.tactics') WHERE value = ?)");
    args.push(f.tactic);
  }
  if (f.entity) {
    where.push('entity = ?');
    args.push(f.entity);
  }
  if (f.q) {
    const l = like(foldVi(f.q));
    where.push(
      "(citysoc_fold(title) LIKE ? ESCAPE '\\' OR citysoc_fold(entity) LIKE ? ESCAPE '\\' OR citysoc_fold(grouping_reason) LIKE ? ESCAPE '\\' OR citysoc_fold(COALESCE(unit_name, '')) LIKE ? ESCAPE '\\' OR id = ?)",
    );
    args.push(l, l, l, l, f.q);
  }
  const from = filterTime(f.from);
  const to = filterTime(f.to);
  if (from !== undefined) {
    where.push('last_seen >= ?');
    args.push(from);
  }
  if (to !== undefined) {
    where.push('first_seen < ?');
    args.push(to);
  }
  return { sql: where.join(' AND '), args };
}

/** Group counts with the highest severity per group, largest groups first. */
export function groupSql(group: QueueGroup, where: string): string {
  const key: Record<QueueGroup, { from: string; key: string }> = {
    unit: { from: 'incidents', key: "COALESCE(unit_path, '')" },
    entity: { from: 'incidents', key: 'entity' },
    rule: { from: 'incidents, json_each(incidents.rule_ids) j', key: 'j.value' },
    tactic: { from: "incidents, json_each(incidents.mitre, '$.tactics') j", key: 'j.value' },
  };
  const g = key[group];
  return `SELECT ${g.key} AS key, COUNT(*) AS count, MAX(${SEVERITY_RANK}) AS max_rank
    FROM ${g.from} WHERE ${where} GROUP BY ${g.key} ORDER BY count DESC, key LIMIT 200`;
}

const folding = new WeakSet<Db>();

/** Diacritics-insensitive search: both sides folded the same way (đ→d included), once per connection. */
function withFold(db: Db): Db {
  if (!folding.has(db)) {
    db.function('citysoc_fold', { deterministic: true }, (v: unknown) =>
      typeof v === 'string' ? foldVi(v) : v,
    );
    folding.add(db);
  }
  return db;
}

export function queueCount(db: Db, f: QueueFilter, ctx: QueueContext): number {
  const w = queueWhere(f, ctx);
  return (
    withFold(db)
      .prepare(`SELECT COUNT(*) AS n FROM incidents WHERE ${w.sql}`)
      .get(...w.args) as { n: number }
  ).n;
}

export function queueIds(db: Db, f: QueueFilter, ctx: QueueContext, limit: number, offset = 0): string[] {
  const w = queueWhere(f, ctx);
  return (
    withFold(db)
      .prepare(`SELECT id FROM incidents WHERE ${w.sql} ORDER BY ${QUEUE_ORDER} LIMIT ? OFFSET ?`)
      .all(...w.args, limit, offset) as Array<{ id: string }>
  ).map((r) => r.id);
}

/** The page's ids from SQL, the incidents through `get` (the store's one row → Incident mapping). */
export function queuePage<I>(
  db: Db,
  get: (id: string) => I | undefined,
  f: QueueFilter,
  ctx: QueueContext,
  p: { page: number; size: number; group?: QueueGroup },
): Omit<QueuePageResult, 'items'> & { items: I[] } {
  const total = queueCount(db, f, ctx);
  const items: I[] = [];
  for (const id of queueIds(db, f, ctx, p.size, (p.page - 1) * p.size)) {
    const inc = get(id);
    if (inc) items.push(inc);
  }
  if (!p.group) return { items, total };
  const w = queueWhere(f, ctx);
  const rows = withFold(db)
    .prepare(groupSql(p.group, w.sql))
    .all(...w.args) as Array<{ key: string; count: number; max_rank: number }>;
  return {
    items,
    total,
    groups: rows.map((r) => ({
      key: r.key,
      count: r.count,
      max_severity: RANK_SEVERITY[r.max_rank] ?? 'informational',
    })),
  };
}

export function changedSince(
  db: Db,
  q: { since: number; inclusive: boolean; scope?: UnitScope; limit: number },
): IncidentChange[] {
  const sc = scopeClause(q.scope);
  return db
    .prepare(
      `SELECT id, status, severity, updated_at FROM incidents WHERE updated_at ${q.inclusive ? '>=' : '>'} ?
       AND ${sc.sql} ORDER BY updated_at, id LIMIT ?`,
    )
    .all(q.since, ...sc.args, q.limit) as IncidentChange[];
}

export function activeIn(db: Db, period: { start: number; end: number }): IncidentActivity[] {
  const { start: s, end: e } = period;
  const rows = db
    .prepare(
      `SELECT id, severity, status, created_at, updated_at, tags FROM incidents
       WHERE (created_at >= ? AND created_at < ?) OR (updated_at >= ? AND updated_at < ?) ORDER BY created_at, id`,
    )
    .all(s, e, s, e) as Array<Omit<IncidentActivity, 'tags'> & { tags: string }>;
  return rows.map((r) => ({ ...r, tags: JSON.parse(r.tags) as string[] }));
}
