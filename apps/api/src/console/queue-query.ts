import { type UnitScope } from '@citysoc/store';

/** The unit subtree clause (same semantics as the incident store's): a path and everything below it. */
export function scopeClause(scope: UnitScope, column = 'unit_path'): { sql: string; args: unknown[] } {
  if (scope === undefined) return { sql: '1 = 1', args: [] };
  const like = scope.replace(/[\\%_]/g, (c) => `\\${c}`) + '/%';
  return { sql: `(${column} = ? OR ${column} LIKE ? ESCAPE '\\')`, args: [scope, like] };
}

/** The built-in queue views of the console (docs/console.md). */
export const VIEWS = ['unclaimed', 'mine', 'breaching', 'open', 'closed_today', 'all'] as const;
export type QueueView = (typeof VIEWS)[number];
export const GROUPS = ['unit', 'rule', 'tactic', 'entity'] as const;
export type QueueGroup = (typeof GROUPS)[number];

export interface QueueFilter {
  view: QueueView;
  severity?: string;
  unit?: string;
  rule?: string;
  tactic?: string;
  entity?: string;
  /** Words in title, entity or grouping reason; diacritics-insensitive. */
  q?: string;
  /** Activity overlapping [from, to). */
  from?: string;
  to?: string;
}

export interface QueueContext {
  scope: UnitScope;
  me: string;
  now: number;
  /** "Breaching soon": an SLA deadline within this many ms (or already passed). */
  breachingWithinMs: number;
}

const OPEN = "status IN ('new','acknowledged','in_progress')";
const CLOSED = "status IN ('resolved','false_positive','duplicate')";
/** The deadline that matters now: acknowledge while new, resolve afterwards; none once closed. */
export const DUE_SQL = `(CASE WHEN status = 'new' THEN COALESCE(json_extract(sla, '$.acknowledge_due'), json_extract(sla, '$.resolve_due'))
  WHEN ${OPEN} THEN json_extract(sla, '$.resolve_due') END)`;
const SEVERITY_RANK = `(CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 ELSE 1 END)`;
/** SLA risk first (nearest deadline, none last), then severity, then priority (unit criticality). */
export const QUEUE_ORDER = `COALESCE(${DUE_SQL}, 9e15) ASC, ${SEVERITY_RANK} DESC, priority DESC, created_at DESC, id DESC`;

/** Midnight in Asia/Ho_Chi_Minh (UTC+7, no DST) as epoch ms: "closed today" is the SOC's day. */
export function startOfDayHcm(now: number): number {
  const offset = 7 * 3600_000;
  return Math.floor((now + offset) / 86_400_000) * 86_400_000 - offset;
}

/** Folds Vietnamese for search: NFD, strip combining marks, đ→d, lower case (same on both sides). */
export function foldVi(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').replace(/[đĐ]/g, 'd').toLowerCase();
}

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
  const from = f.from ? Date.parse(f.from) : NaN;
  const to = f.to ? Date.parse(f.to) : NaN;
  if (!Number.isNaN(from)) {
    where.push('last_seen >= ?');
    args.push(from);
  }
  if (!Number.isNaN(to)) {
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

export const RANK_SEVERITY = ['', 'informational', 'low', 'medium', 'high', 'critical'] as const;
