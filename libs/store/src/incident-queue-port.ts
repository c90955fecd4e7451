import { type Incident } from './ports';

/** incident-port.ts UnitScope (a unit path and below; undefined = city-wide), spelled out: that file extends this one. */
type UnitScope = string | undefined;

// The console's queue, the live stream and the reporter's scans, as incident-port methods: each store answers
// them from its own data (SQL on SQLite, query DSL on Elasticsearch), so switching the incident store moves
// these views with it. The request is validated by the API (console-api.dto.ts); the filter's meaning lives here.

/** The built-in queue views of the console (docs/console.md). */
export const VIEWS = ['unclaimed', 'mine', 'breaching', 'open', 'closed_today', 'all'] as const;
export type QueueView = (typeof VIEWS)[number];
export const GROUPS = ['unit', 'rule', 'tactic', 'entity'] as const;
export type QueueGroup = (typeof GROUPS)[number];

export interface QueueFilter {
  view: QueueView;
  severity?: string;
  /** A unit and everything below it. */
  unit?: string;
  rule?: string;
  /** An ATT&CK tactic of the incident's MITRE mapping. */
  tactic?: string;
  entity?: string;
  /** Words in title, entity, grouping reason or unit name (diacritics-insensitive), or an exact id. */
  q?: string;
  /** Activity overlapping [from, to): last_seen ≥ from and first_seen < to; an unparseable time is ignored. */
  from?: string;
  to?: string;
}

export interface QueueContext {
  scope: UnitScope;
  /** The caller (the `mine` view). */
  me: string;
  now: number;
  /** "Breaching soon": an SLA deadline within this many ms (or already passed). */
  breachingWithinMs: number;
}

export interface QueueGroupCount {
  key: string;
  count: number;
  max_severity: string;
}

export interface QueuePageResult {
  items: Incident[];
  /** Every incident matching the filter, not only this page. */
  total: number;
  /** With a `group`: counts per key, largest first then key ascending, at most 200. */
  groups?: QueueGroupCount[];
}

/** What the live stream and the reporter's watermark scan read of a changed incident (times in epoch ms). */
export interface IncidentChange {
  id: string;
  status: string;
  severity: string;
  updated_at: number;
}

/** What a summary report reads of an incident active in its period (times in epoch ms). */
export interface IncidentActivity {
  id: string;
  severity: string;
  status: string;
  created_at: number;
  updated_at: number;
  tags: string[];
}

/**
 * The incident lists beyond `list`: the console queue (ordered by SLA risk, QUEUE ORDER below), its bulk
 * actions, the change stream and the reporter's scans. None of them leaves drill incidents out (operational
 * views; drills are blinded by the API's DrillBlindInterceptor, and the reporter judges drills itself).
 *
 * QUEUE ORDER: the deadline that matters now first (acknowledge_due, else resolve_due, while `new`;
 * resolve_due while acknowledged or in progress; none once closed — none sorts last), then severity (critical
 * first), priority (highest first), created_at (newest first), id (descending).
 */
export interface IncidentQueueViews {
  /** One page (1-based) of the filter in queue order, the total, and group counts when asked. */
  queuePage(
    f: QueueFilter,
    ctx: QueueContext,
    page: { page: number; size: number; group?: QueueGroup },
  ): Promise<QueuePageResult>;
  /** How many incidents match the filter. */
  queueCount(f: QueueFilter, ctx: QueueContext): Promise<number>;
  /** The ids of the first `limit` matches in queue order (bulk actions ask for one more than they allow). */
  queueIds(f: QueueFilter, ctx: QueueContext, limit: number): Promise<string[]>;
  /**
   * Incidents changed since a time, oldest change first, id breaking ties: `updated_at > since` (the live
   * stream: `inclusive` false) or `≥ since` (the reporter's watermark with its look-back: true), in `scope`.
   */
  changedSince(q: {
    since: number;
    inclusive: boolean;
    scope?: UnitScope;
    limit: number;
  }): Promise<IncidentChange[]>;
  /** Incidents created or updated within [start, end), ordered by (created_at, id); every one of them. */
  activeIn(period: { start: number; end: number }): Promise<IncidentActivity[]>;
}

/** Severity ranks of QUEUE ORDER and of the groups' `max_severity`; anything unknown ranks 1. */
export const RANK_SEVERITY = ['', 'informational', 'low', 'medium', 'high', 'critical'] as const;

export function severityRank(severity: string | undefined): number {
  const r = RANK_SEVERITY.indexOf(severity as (typeof RANK_SEVERITY)[number]);
  return r > 0 ? r : 1;
}

export const OPEN_STATUSES = ['new', 'acknowledged', 'in_progress'] as const;
export const CLOSED_STATUSES = ['resolved', 'false_positive', 'duplicate'] as const;

/** Midnight in Asia/Ho_Chi_Minh (UTC+7, no DST) as epoch ms: "closed today" is the SOC's day. */
export function startOfDayHcm(now: number): number {
  const offset = 7 * 3600_000;
  return Math.floor((now + offset) / 86_400_000) * 86_400_000 - offset;
}

/** Folds Vietnamese for search: NFD, strip combining marks, đ→d, lower case (same on both sides). */
export function foldVi(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').replace(/[đĐ]/g, 'd').toLowerCase();
}

/** A parsed `from`/`to` of the filter, or undefined when absent or unparseable (then it filters nothing). */
export function filterTime(v: string | undefined): number | undefined {
  const t = v ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}
