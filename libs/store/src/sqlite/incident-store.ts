import { mergedIncidentTags, nextIncidentTags } from '@citysoc/drills';
import { type Alert, type Severity } from '@citysoc/ecs';
import {
  checkTransition,
  DEFAULT_GROUPING,
  type GroupingPolicy,
  groupOf,
  incidentIdFor,
  incidentTitle,
  type IncidentStatus,
  isClosed,
  mergeMitre,
  type Mitre,
  mitreFromTags,
  placeAlert,
  priorityScore,
  type SlaDeadline,
  type SlaKind,
  maxSeverity,
  unitOf,
  unitPathOf,
} from '@citysoc/incidents';
import {
  type Incident,
  type IncidentComment,
  type IncidentNote,
  type IncidentQuery,
  type Page,
  type RecordAlertResult,
  type SlaReportRow,
} from '../ports';
import {
  type AlertSetSummary,
  type EvidenceKind,
  type EvidencePin,
  IncidentConflictError,
  IncidentNotFoundError,
  type IncidentStore,
  inScope,
  type MergeResult,
  type SplitResult,
  type TransitionInput,
  type UnitScope,
} from '../incident-port';
import { clampLimit, decodeCursor, type Db, encodeCursor } from './db';
import * as queueViews from './incident-queue';
import {
  type IncidentActivity,
  type IncidentChange,
  type QueueContext,
  type QueueFilter,
  type QueueGroup,
  type QueuePageResult,
} from '../incident-queue-port';
import { REAL_INCIDENTS_SQL, registerDrillFunction, scopeClause } from './incident-sql';
import { SqliteIncidentAggregates } from './incident-aggregates';

// Moved to incident-sql.ts (shared with incident-aggregates.ts); re-exported for existing imports.
export {
  drillIncidentsSql,
  REAL_INCIDENTS_SQL,
  realIncidentsSql,
  registerDrillFunction,
  scopeClause,
} from './incident-sql';

export {
  type AlertSetSummary,
  type EvidenceKind,
  type EvidencePin,
  IncidentConflictError,
  IncidentNotFoundError,
  inScope,
  type MergeResult,
  type SplitResult,
  type TransitionInput,
  type UnitScope,
};

export const INCIDENT_MIGRATIONS = [
  `CREATE TABLE incidents (
     id TEXT PRIMARY KEY,
     group_key TEXT NOT NULL,
     title TEXT NOT NULL,
     severity TEXT NOT NULL,
     status TEXT NOT NULL,
     rule_ids TEXT NOT NULL,
     entity TEXT NOT NULL,
     alert_count INTEGER NOT NULL,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     assignee TEXT,
     queued INTEGER NOT NULL DEFAULT 0,
     grouping_reason TEXT NOT NULL
   );
   CREATE INDEX incidents_group ON incidents (group_key, last_seen);
   CREATE INDEX incidents_created ON incidents (created_at, id);
   CREATE INDEX incidents_unqueued ON incidents (queued) WHERE queued = 0;
   CREATE TABLE incident_alerts (
     alert_id TEXT PRIMARY KEY,
     incident_id TEXT NOT NULL REFERENCES incidents (id),
     ts INTEGER NOT NULL
   );
   CREATE INDEX incident_alerts_incident ON incident_alerts (incident_id, ts);
   CREATE TABLE incident_history (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     incident_id TEXT NOT NULL REFERENCES incidents (id),
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     from_status TEXT,
     to_status TEXT NOT NULL,
     note TEXT NOT NULL
   );`,
];

/** Appended after the auth and audit migrations (control.ts): released migrations never move. */
export const INCIDENT_SLA_MIGRATIONS = [
  `ALTER TABLE incidents ADD COLUMN sla TEXT NOT NULL DEFAULT '{"breaches":[]}';`,
];

/**
 * Lifecycle v2 (new → acknowledged → in_progress → resolved | false_positive | duplicate), the fields the
 * triage screens need, and comments. Columns are only added (the national reporter reads this table);
 * statuses of the first release are mapped: claimed → acknowledged, closed → resolved.
 */
export const INCIDENT_V2_MIGRATIONS = [
  `ALTER TABLE incidents ADD COLUMN reason TEXT;
   ALTER TABLE incidents ADD COLUMN duplicate_of TEXT;
   ALTER TABLE incidents ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE incidents ADD COLUMN mitre TEXT NOT NULL DEFAULT '{"tactics":[],"techniques":[]}';
   ALTER TABLE incidents ADD COLUMN rule_author TEXT;
   ALTER TABLE incidents ADD COLUMN rule_license TEXT;
   ALTER TABLE incidents ADD COLUMN unit_id TEXT;
   ALTER TABLE incidents ADD COLUMN unit_name TEXT;
   ALTER TABLE incidents ADD COLUMN unit_path TEXT;
   ALTER TABLE incidents ADD COLUMN unit_criticality TEXT;
   ALTER TABLE incidents ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE incidents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE incidents ADD COLUMN claim_token TEXT;
   ALTER TABLE incidents ADD COLUMN claim_expires_at INTEGER;
   ALTER TABLE incidents ADD COLUMN acknowledged_at INTEGER;
   ALTER TABLE incidents ADD COLUMN closed_at INTEGER;
   ALTER TABLE incidents ADD COLUMN reopened_at INTEGER;
   UPDATE incidents SET status = 'acknowledged' WHERE status = 'claimed';
   UPDATE incidents SET status = 'resolved', closed_at = updated_at WHERE status = 'closed';
   UPDATE incidents SET closed_at = updated_at WHERE status IN ('resolved', 'false_positive') AND closed_at IS NULL;
   UPDATE incident_history SET from_status = 'acknowledged' WHERE from_status = 'claimed';
   UPDATE incident_history SET to_status = 'acknowledged' WHERE to_status = 'claimed';
   UPDATE incident_history SET from_status = 'resolved' WHERE from_status = 'closed';
   UPDATE incident_history SET to_status = 'resolved' WHERE to_status = 'closed';
   UPDATE incidents SET priority = 2 * (CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 ELSE 1 END);
   CREATE INDEX incidents_unit ON incidents (unit_path);
   CREATE INDEX incidents_status ON incidents (status, priority);
   CREATE TABLE incident_comments (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     incident_id TEXT NOT NULL REFERENCES incidents (id),
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     text TEXT NOT NULL
   );
   CREATE INDEX incident_comments_incident ON incident_comments (incident_id, seq);`,
];

/** Evidence pinned on an incident (an alert or an event, with the analyst's note), and split/merge links. */
export const INCIDENT_EVIDENCE_MIGRATIONS = [
  `CREATE TABLE incident_evidence (
     incident_id TEXT NOT NULL REFERENCES incidents (id),
     kind TEXT NOT NULL CHECK (kind IN ('alert', 'event')),
     ref_id TEXT NOT NULL,
     note TEXT NOT NULL,
     actor TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (incident_id, kind, ref_id)
   );
   ALTER TABLE incidents ADD COLUMN split_from TEXT;`,
];

interface SlaColumn {
  acknowledge_due?: number;
  resolve_due?: number;
  breaches: Array<{ kind: SlaKind; at: number; generation?: number }>;
}

/** An incidents row as the control database holds it (every migration above applied). */
export interface IncidentRow {
  id: string;
  group_key: string;
  title: string;
  severity: Severity;
  status: IncidentStatus;
  rule_ids: string;
  entity: string;
  alert_count: number;
  first_seen: number;
  last_seen: number;
  created_at: number;
  updated_at: number;
  assignee: string | null;
  queued: number;
  grouping_reason: string;
  sla: string;
  reason: string | null;
  duplicate_of: string | null;
  tags: string;
  mitre: string;
  rule_author: string | null;
  rule_license: string | null;
  unit_id: string | null;
  unit_name: string | null;
  unit_path: string | null;
  unit_criticality: 'low' | 'medium' | 'high' | 'critical' | null;
  priority: number;
  generation: number;
  claim_token: string | null;
  claim_expires_at: number | null;
  acknowledged_at: number | null;
  closed_at: number | null;
  reopened_at: number | null;
  split_from: string | null;
}

type Row = IncidentRow;

const SORTS = {
  created: 'created_at DESC, id DESC',
  priority: 'priority DESC, created_at DESC, id DESC',
} as const;

/**
 * Incidents: grouping is a read-modify-write, so it runs in one IMMEDIATE transaction per alert. The
 * methods are async to meet the IncidentStore port, but no body awaits: each call runs to completion (one
 * better-sqlite3 transaction) before it returns its promise, so callers that start several calls at once
 * still get them one after the other, each atomic.
 */
export class SqliteIncidentStore implements IncidentStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    registerDrillFunction(db);
    this.aggregates = new SqliteIncidentAggregates(db);
  }

  // Statistics (IncidentAggregates): SQL kept in incident-aggregates.ts.
  private readonly aggregates: SqliteIncidentAggregates;
  incidentDashboard: IncidentStore['incidentDashboard'] = (q) => this.aggregates.incidentDashboard(q);
  incidentUnits: IncidentStore['incidentUnits'] = (scope) => this.aggregates.incidentUnits(scope);
  incidentRuleStats: IncidentStore['incidentRuleStats'] = (scope, limit) =>
    this.aggregates.incidentRuleStats(scope, limit);
  incidentMitre: IncidentStore['incidentMitre'] = (scope) => this.aggregates.incidentMitre(scope);
  slaBreachCounts: IncidentStore['slaBreachCounts'] = () => this.aggregates.slaBreachCounts();

  /**
   * Records an alert in its incident. Idempotent on the alert id (a redelivered or replayed alert changes
   * nothing), and the incident id derives from the group and the first alert, so replays never open a
   * second incident. `policy` may be a window in ms (rule + entity grouping, the first release's API).
   */
  async recordAlert(alert: Alert, policyOrWindow: GroupingPolicy | number): Promise<RecordAlertResult> {
    const policy =
      typeof policyOrWindow === 'number' ? { ...DEFAULT_GROUPING, windowMs: policyOrWindow } : policyOrWindow;
    const tx = this.db.transaction((): RecordAlertResult => {
      const linked = this.db
        .prepare('SELECT incident_id FROM incident_alerts WHERE alert_id = ?')
        .get(alert.id) as { incident_id: string } | undefined;
      if (linked)
        return {
          incident: this.mustGet(linked.incident_id),
          created: false,
          duplicate: true,
          reopened: false,
        };

      const group = groupOf(alert, policy);
      const t = Date.parse(alert['@timestamp']);
      const at = Number.isNaN(t) ? this.now() : t;
      const now = this.now();
      let latest = this.db
        .prepare('SELECT * FROM incidents WHERE group_key = ? ORDER BY last_seen DESC, id LIMIT 1')
        .get(group.key) as Row | undefined;
      let placement = latest
        ? placeAlert(
            { status: latest.status, firstSeenMs: latest.first_seen, lastSeenMs: latest.last_seen },
            at,
            policy.windowMs,
            policy.reopen,
          )
        : 'open';
      // A duplicate passes its alerts to the incident it duplicates (a short chain at most).
      for (let hops = 0; placement === 'follow_duplicate' && latest?.duplicate_of && hops < 5; hops++) {
        latest = this.db.prepare('SELECT * FROM incidents WHERE id = ?').get(latest.duplicate_of) as
          Row | undefined;
        if (!latest) break;
        placement =
          latest.status === 'duplicate' ? 'follow_duplicate' : isClosed(latest.status) ? 'attach' : 'join';
      }
      if (placement === 'follow_duplicate') placement = 'attach';

      if (latest && placement !== 'open') {
        const severity = maxSeverity(latest.severity, alert.rule.level);
        const ruleIds = [...new Set([...(JSON.parse(latest.rule_ids) as string[]), alert.rule.id])];
        const mitre = mergeMitre(JSON.parse(latest.mitre) as Mitre, mitreFromTags(alert.rule.tags));
        this.db
          .prepare(
            `UPDATE incidents SET alert_count = alert_count + 1, first_seen = MIN(first_seen, ?), last_seen = MAX(last_seen, ?),
               severity = ?, rule_ids = ?, mitre = ?, priority = ?, updated_at = ?, tags = ? WHERE id = ?`,
          )
          .run(
            at,
            at,
            severity,
            JSON.stringify(ruleIds),
            JSON.stringify(mitre),
            priorityScore(severity, latest.unit_criticality),
            now,
            // Drill status (issue 9): a real alert in a drill incident, or the reverse, makes it mixed = real.
            JSON.stringify(nextIncidentTags(JSON.parse(latest.tags) as string[], alert, false)),
            latest.id,
          );
        this.db
          .prepare('INSERT INTO incident_alerts (alert_id, incident_id, ts) VALUES (?, ?, ?)')
          .run(alert.id, latest.id, at);
        if (placement === 'reopen') {
          this.db
            .prepare(
              `UPDATE incidents SET status = 'new', assignee = NULL, claim_token = NULL, claim_expires_at = NULL,
                 reason = NULL, closed_at = NULL, reopened_at = ?, generation = generation + 1, queued = 0 WHERE id = ?`,
            )
            .run(now, latest.id);
          this.history(
            latest.id,
            'system',
            latest.status,
            'new',
            `reopened: alert ${alert.id} arrived within the grouping window after the incident was ${latest.status}`,
            now,
          );
        }
        return {
          incident: this.mustGet(latest.id),
          created: false,
          duplicate: false,
          reopened: placement === 'reopen',
          severityRaised: severity !== latest.severity,
        };
      }

      const id = incidentIdFor(group.key, alert.id);
      const unit = unitOf(alert);
      this.db
        .prepare(
          `INSERT INTO incidents (id, group_key, title, severity, status, rule_ids, entity, alert_count, first_seen, last_seen,
             created_at, updated_at, assignee, queued, grouping_reason, mitre, rule_author, rule_license,
             unit_id, unit_name, unit_path, unit_criticality, priority, tags)
           VALUES (?, ?, ?, ?, 'new', ?, ?, 1, ?, ?, ?, ?, NULL, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          group.key,
          incidentTitle(alert, group.entity),
          alert.rule.level,
          JSON.stringify([alert.rule.id]),
          group.entity,
          at,
          at,
          now,
          now,
          group.reason,
          JSON.stringify(mitreFromTags(alert.rule.tags)),
          alert.rule.author ?? null,
          alert.rule.license ?? null,
          unit?.id ?? null,
          unit?.name ?? null,
          unitPathOf(unit),
          unit?.criticality ?? null,
          priorityScore(alert.rule.level, unit?.criticality),
          JSON.stringify(nextIncidentTags([], alert, true)),
        );
      this.db
        .prepare('INSERT INTO incident_alerts (alert_id, incident_id, ts) VALUES (?, ?, ?)')
        .run(alert.id, id, at);
      this.history(id, 'system', null, 'new', group.reason, now);
      return { incident: this.mustGet(id), created: true, duplicate: false, reopened: false };
    });
    return tx.immediate();
  }

  /** Called once the BullMQ job exists, so a crash in between is repaired by re-enqueueing unqueued incidents. */
  async markQueued(id: string): Promise<void> {
    this.db.prepare('UPDATE incidents SET queued = 1 WHERE id = ?').run(id);
  }

  async listUnqueued(limit = 1000): Promise<Incident[]> {
    return (
      this.db
        .prepare('SELECT * FROM incidents WHERE queued = 0 ORDER BY created_at LIMIT ?')
        .all(limit) as Row[]
    ).map(toIncident);
  }

  /** One incident, or undefined when it does not exist or lies outside `scope` (callers answer 404 alike). */
  async get(id: string, scope?: UnitScope): Promise<Incident | undefined> {
    return this.getSync(id, scope);
  }

  private getSync(id: string, scope?: UnitScope): Incident | undefined {
    const row = this.db.prepare('SELECT * FROM incidents WHERE id = ?').get(id) as Row | undefined;
    return row && inScope(scope, row.unit_path) ? toIncident(row) : undefined;
  }

  async list(q: IncidentQuery): Promise<Page<Incident>> {
    const where: string[] = [];
    const args: unknown[] = [];
    const sc = scopeClause(q.scope);
    where.push(sc.sql);
    args.push(...sc.args);
    const eq = (col: string, v: unknown) => {
      if (v === undefined) return;
      where.push(`${col} = ?`);
      args.push(v);
    };
    eq('status', q.status);
    eq('severity', q.severity);
    eq('assignee', q.assignee);
    if (q.unit !== undefined) {
      const u = scopeClause(q.unit);
      where.push(u.sql);
      args.push(...u.args);
    }
    if (q.tag !== undefined) {
      where.push('EXISTS (SELECT 1 FROM json_each(incidents.tags) WHERE value = ?)');
      args.push(q.tag);
    }
    if (q.ruleId !== undefined) {
      where.push('EXISTS (SELECT 1 FROM json_each(incidents.rule_ids) WHERE value = ?)');
      args.push(q.ruleId);
    }
    if (q.entity !== undefined) eq('entity', q.entity);
    if (q.text !== undefined) {
      where.push(
        "(title LIKE ? ESCAPE '\\' OR entity LIKE ? ESCAPE '\\' OR grouping_reason LIKE ? ESCAPE '\\')",
      );
      const like = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      args.push(like, like, like);
    }
    const from = q.from === undefined ? undefined : Date.parse(q.from);
    const to = q.to === undefined ? undefined : Date.parse(q.to);
    if (from !== undefined && !Number.isNaN(from)) {
      where.push('last_seen >= ?');
      args.push(from);
    }
    if (to !== undefined && !Number.isNaN(to)) {
      where.push('first_seen < ?');
      args.push(to);
    }
    if (q.after) {
      const [ts, id] = decodeCursor(q.after);
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      args.push(ts, ts, id);
    }
    const limit = clampLimit(q.limit);
    const rows = this.db
      .prepare(`SELECT * FROM incidents WHERE ${where.join(' AND ')} ORDER BY ${SORTS.created} LIMIT ?`)
      .all(...args, limit + 1) as Row[];
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toIncident),
      ...(rows.length > limit && last ? { next: encodeCursor(last.created_at, last.id) } : {}),
    };
  }

  async alertIds(id: string): Promise<string[]> {
    return this.alertIdsSync(id);
  }

  private alertIdsSync(id: string): string[] {
    return (
      this.db
        .prepare('SELECT alert_id FROM incident_alerts WHERE incident_id = ? ORDER BY ts, alert_id')
        .all(id) as Array<{ alert_id: string }>
    ).map((r) => r.alert_id);
  }

  async notes(id: string): Promise<IncidentNote[]> {
    return (
      this.db
        .prepare(
          'SELECT at, actor, from_status, to_status, note FROM incident_history WHERE incident_id = ? ORDER BY seq',
        )
        .all(id) as Array<IncidentNote & { at: number }>
    ).map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  }

  async comments(id: string): Promise<IncidentComment[]> {
    return (
      this.db
        .prepare('SELECT at, actor, text FROM incident_comments WHERE incident_id = ? ORDER BY seq')
        .all(id) as Array<{ at: number; actor: string; text: string }>
    ).map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  }

  /**
   * Acknowledges an incident handed out by the queue. A new incident is taken; an acknowledged one whose
   * claim lock expired (its responder vanished, BullMQ returned the job) is taken over; anything else is a
   * conflict, never a steal. `lockMs` is how long the claim lasts without a heartbeat.
   */
  async claim(
    id: string,
    actor: string,
    opts: { token?: string; lockMs?: number; scope?: UnitScope } = {},
  ): Promise<Incident> {
    const tx = this.db.transaction(() => {
      const cur = this.mustGetRow(id, opts.scope);
      const now = this.now();
      // A claim lives while its holder renews it, through acknowledged and in_progress alike; a lapsed
      // one is taken over (an in_progress incident keeps its status, only the holder changes).
      const abandoned =
        (cur.status === 'acknowledged' || cur.status === 'in_progress') &&
        cur.claim_expires_at !== null &&
        cur.claim_expires_at < now;
      if (cur.status !== 'new' && !abandoned)
        throw new IncidentConflictError(`incident ${id} is ${cur.status}, not new`);
      const status: IncidentStatus = cur.status === 'in_progress' ? 'in_progress' : 'acknowledged';
      this.db
        .prepare(
          `UPDATE incidents SET status = ?, assignee = ?, claim_token = ?, claim_expires_at = ?,
             acknowledged_at = COALESCE(acknowledged_at, ?), updated_at = ? WHERE id = ?`,
        )
        .run(status, actor, opts.token ?? null, opts.lockMs ? now + opts.lockMs : null, now, now, id);
      this.history(
        id,
        actor,
        cur.status,
        status,
        abandoned
          ? `claimed from the queue (the claim of ${cur.assignee ?? 'nobody'} had lapsed)`
          : 'claimed from the queue',
        now,
      );
      return this.mustGet(id);
    });
    return tx.immediate();
  }

  /** The claim's lock token, to renew or complete the queue job; only the assignee may use it. */
  async claimToken(
    id: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<{ token: string | null; incident: Incident }> {
    const row = this.mustGetRow(id, scope);
    if (row.assignee !== actor)
      throw new IncidentConflictError(
        `incident ${id} is assigned to ${row.assignee ?? 'nobody'}, not ${actor}`,
      );
    return { token: row.claim_token, incident: toIncident(row) };
  }

  /** The queue lock token of the current claim, whoever holds it (to complete or release the job). */
  async claimTokenFor(id: string, scope?: UnitScope): Promise<string | null> {
    return this.mustGetRow(id, scope).claim_token;
  }

  /** Heartbeat: the claim lives `lockMs` longer. */
  async renewClaim(id: string, actor: string, lockMs: number, scope?: UnitScope): Promise<Incident> {
    const tx = this.db.transaction(() => {
      const row = this.mustGetRow(id, scope);
      if (row.assignee !== actor || !(row.status === 'acknowledged' || row.status === 'in_progress'))
        throw new IncidentConflictError(`incident ${id} is not claimed by ${actor}`);
      const now = this.now();
      this.db.prepare('UPDATE incidents SET claim_expires_at = ? WHERE id = ?').run(now + lockMs, id);
      return this.mustGet(id);
    });
    return tx.immediate();
  }

  async transition(
    id: string,
    input: TransitionInput | IncidentStatus,
    actor: string,
    note?: string,
    scope?: UnitScope,
  ): Promise<Incident> {
    const req: TransitionInput =
      typeof input === 'string' ? { to: input, ...(note !== undefined ? { reason: note } : {}) } : input;
    return this.transitionTx(id, req, actor, scope).after;
  }

  /** Like transition, but also returns the state before (read in the same transaction), for the audit record. */
  async transitionWithBefore(
    id: string,
    input: TransitionInput,
    actor: string,
    scope?: UnitScope,
  ): Promise<{ before: Incident; after: Incident }> {
    return this.transitionTx(id, input, actor, scope);
  }

  private transitionTx(
    id: string,
    req: TransitionInput,
    actor: string,
    scope: UnitScope,
  ): { before: Incident; after: Incident } {
    const tx = this.db.transaction(() => {
      const cur = this.mustGetRow(id, scope);
      checkTransition({
        from: cur.status,
        to: req.to,
        id,
        ...(req.reason !== undefined ? { reason: req.reason } : {}),
        ...(req.duplicateOf !== undefined ? { duplicateOf: req.duplicateOf } : {}),
      });
      if (req.duplicateOf !== undefined) {
        // The original must exist and be visible to the same user: no probing other units' ids.
        if (!this.getSync(req.duplicateOf, scope))
          throw new IncidentNotFoundError(`incident ${req.duplicateOf} (duplicate_of) not found`);
      }
      const now = this.now();
      const closing = isClosed(req.to);
      const reopening = isClosed(cur.status);
      const assignee =
        req.to === 'new'
          ? null
          : req.to === 'acknowledged' || req.to === 'in_progress'
            ? (cur.assignee ?? actor)
            : cur.assignee;
      this.db
        .prepare(
          `UPDATE incidents SET status = ?, assignee = ?, updated_at = ?, reason = ?, duplicate_of = ?,
             closed_at = ?, acknowledged_at = COALESCE(acknowledged_at, ?),
             claim_token = CASE WHEN ? THEN NULL ELSE claim_token END,
             claim_expires_at = CASE WHEN ? THEN NULL ELSE claim_expires_at END,
             reopened_at = CASE WHEN ? THEN ? ELSE reopened_at END
           WHERE id = ?`,
        )
        .run(
          req.to,
          assignee,
          now,
          closing ? (req.reason ?? null) : reopening ? null : cur.reason,
          req.to === 'duplicate' ? (req.duplicateOf ?? null) : null,
          closing ? now : null,
          req.to === 'acknowledged' || req.to === 'in_progress' ? now : null,
          closing || req.to === 'new' ? 1 : 0,
          closing || req.to === 'new' ? 1 : 0,
          reopening ? 1 : 0,
          now,
          id,
        );
      const text =
        req.to === 'duplicate'
          ? `duplicate of ${req.duplicateOf}: ${req.reason ?? ''}`
          : (req.reason ?? (req.to === 'new' ? 'released back to the queue' : ''));
      this.history(id, actor, cur.status, req.to, text, now);
      return { before: toIncident(cur), after: this.mustGet(id) };
    });
    return tx.immediate();
  }

  async assign(id: string, assignee: string | null, actor: string, scope?: UnitScope): Promise<Incident> {
    const tx = this.db.transaction(() => {
      const cur = this.mustGetRow(id, scope);
      if (isClosed(cur.status))
        throw new IncidentConflictError(`incident ${id} is ${cur.status}; reopen it first`);
      const now = this.now();
      this.db
        .prepare('UPDATE incidents SET assignee = ?, updated_at = ? WHERE id = ?')
        .run(assignee, now, id);
      this.history(
        id,
        actor,
        cur.status,
        cur.status,
        assignee
          ? `assigned to ${assignee}${cur.assignee ? ` (was ${cur.assignee})` : ''}`
          : `unassigned (was ${cur.assignee ?? 'nobody'})`,
        now,
      );
      return this.mustGet(id);
    });
    return tx.immediate();
  }

  async comment(id: string, actor: string, text: string, scope?: UnitScope): Promise<IncidentComment> {
    const tx = this.db.transaction(() => {
      this.mustGetRow(id, scope);
      const now = this.now();
      this.db
        .prepare('INSERT INTO incident_comments (incident_id, at, actor, text) VALUES (?, ?, ?, ?)')
        .run(id, now, actor, text);
      this.db.prepare('UPDATE incidents SET updated_at = ? WHERE id = ?').run(now, id);
      return { at: new Date(now).toISOString(), actor, text };
    });
    return tx.immediate();
  }

  async setTags(
    id: string,
    add: string[],
    remove: string[],
    actor: string,
    scope?: UnitScope,
  ): Promise<Incident> {
    const tx = this.db.transaction(() => {
      const cur = this.mustGetRow(id, scope);
      const tags = new Set(JSON.parse(cur.tags) as string[]);
      for (const t of add) tags.add(t);
      for (const t of remove) tags.delete(t);
      const now = this.now();
      this.db
        .prepare('UPDATE incidents SET tags = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify([...tags].sort()), now, id);
      this.history(
        id,
        actor,
        cur.status,
        cur.status,
        `tags${add.length ? ` +${add.join(' +')}` : ''}${remove.length ? ` -${remove.join(' -')}` : ''}`,
        now,
      );
      return this.mustGet(id);
    });
    return tx.immediate();
  }

  async setSlaDeadlines(id: string, deadlines: SlaDeadline[]): Promise<void> {
    const tx = this.db.transaction(() => {
      const sla = this.sla(id);
      for (const d of deadlines) sla[d.kind === 'acknowledge' ? 'acknowledge_due' : 'resolve_due'] = d.dueMs;
      this.db.prepare('UPDATE incidents SET sla = ? WHERE id = ?').run(JSON.stringify(sla), id);
    });
    tx.immediate();
  }

  /**
   * Records a missed deadline once per opening of the incident (timers may fire twice after a restart);
   * returns false if already known.
   */
  async recordSlaBreach(id: string, kind: SlaKind, atMs: number, generation = 0): Promise<boolean> {
    const tx = this.db.transaction(() => {
      const sla = this.sla(id);
      if (sla.breaches.some((b) => b.kind === kind && (b.generation ?? 0) === generation)) return false;
      sla.breaches.push({ kind, at: atMs, ...(generation ? { generation } : {}) });
      this.db
        .prepare('UPDATE incidents SET sla = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify(sla), atMs, id);
      const cur = this.mustGet(id);
      this.history(
        id,
        'system',
        cur.status,
        cur.status,
        `SLA breached: not ${kind === 'acknowledge' ? 'acknowledged' : 'resolved'} in time; escalated`,
        atMs,
      );
      return true;
    });
    return tx.immediate();
  }

  /** Pins an alert of the incident, or an event, with a note; pinning again replaces the note. */
  async pinEvidence(
    id: string,
    pin: { kind: EvidenceKind; ref: string; note: string },
    actor: string,
    scope?: UnitScope,
  ): Promise<EvidencePin> {
    const tx = this.db.transaction((): EvidencePin => {
      const cur = this.mustGetRow(id, scope);
      if (pin.kind === 'alert') {
        const linked = this.db
          .prepare('SELECT 1 FROM incident_alerts WHERE alert_id = ? AND incident_id = ?')
          .get(pin.ref, id);
        if (!linked) throw new IncidentNotFoundError(`alert ${pin.ref} is not part of incident ${id}`);
      }
      const now = this.now();
      this.db
        .prepare(
          `INSERT INTO incident_evidence (incident_id, kind, ref_id, note, actor, at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (incident_id, kind, ref_id) DO UPDATE SET note = excluded.note, actor = excluded.actor, at = excluded.at`,
        )
        .run(id, pin.kind, pin.ref, pin.note, actor, now);
      this.db.prepare('UPDATE incidents SET updated_at = ? WHERE id = ?').run(now, id);
      this.history(id, actor, cur.status, cur.status, `pinned ${pin.kind} ${pin.ref}: ${pin.note}`, now);
      return { kind: pin.kind, ref_id: pin.ref, note: pin.note, actor, at: new Date(now).toISOString() };
    });
    return tx.immediate();
  }

  /** Removes a pin; returns the pin as it was (for the audit record). */
  async unpinEvidence(
    id: string,
    kind: EvidenceKind,
    ref: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<EvidencePin> {
    const tx = this.db.transaction((): EvidencePin => {
      const cur = this.mustGetRow(id, scope);
      const was = this.evidenceSync(id).find((e) => e.kind === kind && e.ref_id === ref);
      if (!was) throw new IncidentNotFoundError(`${kind} ${ref} is not pinned on incident ${id}`);
      const now = this.now();
      this.db
        .prepare('DELETE FROM incident_evidence WHERE incident_id = ? AND kind = ? AND ref_id = ?')
        .run(id, kind, ref);
      this.db.prepare('UPDATE incidents SET updated_at = ? WHERE id = ?').run(now, id);
      this.history(id, actor, cur.status, cur.status, `unpinned ${kind} ${ref}`, now);
      return was;
    });
    return tx.immediate();
  }

  async evidence(id: string): Promise<EvidencePin[]> {
    return this.evidenceSync(id);
  }

  private evidenceSync(id: string): EvidencePin[] {
    return (
      this.db
        .prepare(
          'SELECT kind, ref_id, note, actor, at FROM incident_evidence WHERE incident_id = ? ORDER BY at, kind, ref_id',
        )
        .all(id) as Array<Omit<EvidencePin, 'at'> & { at: number }>
    ).map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  }

  /**
   * Merges `sourceIds` into `targetId` in one transaction: their alerts and evidence move to the target,
   * which takes the highest severity, the union of rules, ATT&CK and tags, and per SLA kind the earliest
   * deadline of its parts (alerts that waited under a source's clock keep waiting under it). Each source
   * becomes `duplicate` of the target. All must be open and in `scope`.
   */
  async merge(
    targetId: string,
    sourceIds: string[],
    reason: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<MergeResult> {
    const tx = this.db.transaction((): MergeResult => {
      const target = this.mustGetRow(targetId, scope);
      if (isClosed(target.status))
        throw new IncidentConflictError(
          `incident ${targetId} is ${target.status}; merge into an open incident`,
        );
      const sources = [...new Set(sourceIds)].map((sid) => {
        if (sid === targetId) throw new IncidentConflictError('an incident cannot be merged into itself');
        const row = this.mustGetRow(sid, scope);
        checkTransition({ from: row.status, to: 'duplicate', id: sid, reason, duplicateOf: targetId });
        return row;
      });
      const now = this.now();
      let severity = target.severity;
      let ruleIds = JSON.parse(target.rule_ids) as string[];
      let mitre = JSON.parse(target.mitre) as Mitre;
      let tags = JSON.parse(target.tags) as string[];
      const sla = JSON.parse(target.sla) as SlaColumn;
      let moved = 0;
      for (const src of sources) {
        moved += this.db
          .prepare('UPDATE incident_alerts SET incident_id = ? WHERE incident_id = ?')
          .run(targetId, src.id).changes;
        this.db
          .prepare('UPDATE OR IGNORE incident_evidence SET incident_id = ? WHERE incident_id = ?')
          .run(targetId, src.id);
        this.db.prepare('DELETE FROM incident_evidence WHERE incident_id = ?').run(src.id);
        severity = maxSeverity(severity, src.severity);
        ruleIds = [...new Set([...ruleIds, ...(JSON.parse(src.rule_ids) as string[])])];
        mitre = mergeMitre(mitre, JSON.parse(src.mitre) as Mitre);
        tags = mergedIncidentTags(tags, JSON.parse(src.tags) as string[]);
        const s = JSON.parse(src.sla) as SlaColumn;
        sla.acknowledge_due = earliest(sla.acknowledge_due, s.acknowledge_due);
        sla.resolve_due = earliest(sla.resolve_due, s.resolve_due);
        this.db
          .prepare(
            `UPDATE incidents SET status = 'duplicate', duplicate_of = ?, reason = ?, closed_at = ?, updated_at = ?,
               alert_count = 0, claim_token = NULL, claim_expires_at = NULL WHERE id = ?`,
          )
          .run(targetId, reason, now, now, src.id);
        this.history(src.id, actor, src.status, 'duplicate', `merged into ${targetId}: ${reason}`, now);
      }
      const span = this.db
        .prepare(
          'SELECT COUNT(*) AS n, MIN(ts) AS first, MAX(ts) AS last FROM incident_alerts WHERE incident_id = ?',
        )
        .get(targetId) as { n: number; first: number | null; last: number | null };
      this.db
        .prepare(
          `UPDATE incidents SET alert_count = ?, first_seen = MIN(first_seen, ?), last_seen = MAX(last_seen, ?),
             severity = ?, rule_ids = ?, mitre = ?, tags = ?, priority = ?, sla = ?, updated_at = ? WHERE id = ?`,
        )
        .run(
          span.n,
          span.first ?? target.first_seen,
          span.last ?? target.last_seen,
          severity,
          JSON.stringify(ruleIds),
          JSON.stringify(mitre),
          JSON.stringify(tags),
          priorityScore(severity, target.unit_criticality),
          JSON.stringify(sla),
          now,
          targetId,
        );
      this.history(
        targetId,
        actor,
        target.status,
        target.status,
        `merged ${sources.map((s) => s.id).join(', ')} (${moved} alerts): ${reason}`,
        now,
      );
      return { target: this.mustGet(targetId), merged: sources.map(toIncident), moved };
    });
    return tx.immediate();
  }

  /**
   * Moves `alertIds` of an open incident into a new incident (status new, same unit and tags, its own group
   * key so later alerts keep joining the original). At least one alert must stay. `moved`/`kept` describe
   * the two alert sets (the caller reads the alerts); the new incident's SLA deadlines are set by the caller.
   */
  async split(
    id: string,
    alertIds: string[],
    summaries: { moved: AlertSetSummary; kept: AlertSetSummary | null },
    reason: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<SplitResult> {
    const tx = this.db.transaction((): SplitResult => {
      const cur = this.mustGetRow(id, scope);
      if (isClosed(cur.status))
        throw new IncidentConflictError(`incident ${id} is ${cur.status}; reopen it before splitting`);
      const ids = [...new Set(alertIds)].sort();
      const mine = new Set(this.alertIdsSync(id));
      const foreign = ids.filter((a) => !mine.has(a));
      if (foreign.length > 0)
        throw new IncidentNotFoundError(
          `alerts not part of incident ${id}: ${foreign.slice(0, 5).join(', ')}`,
        );
      if (ids.length === 0 || ids.length >= mine.size)
        throw new IncidentConflictError('a split moves some of the alerts, not none and not all');
      const now = this.now();
      const groupKey = `${cur.group_key}|split`;
      const newId = incidentIdFor(groupKey, ids[0]!);
      const m = summaries.moved;
      this.db
        .prepare(
          `INSERT INTO incidents (id, group_key, title, severity, status, rule_ids, entity, alert_count, first_seen, last_seen,
             created_at, updated_at, assignee, queued, grouping_reason, mitre, rule_author, rule_license,
             unit_id, unit_name, unit_path, unit_criticality, priority, tags, split_from)
           VALUES (?, ?, ?, ?, 'new', ?, ?, 0, 0, 0, ?, ?, NULL, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          newId,
          groupKey,
          m.title,
          m.severity,
          JSON.stringify(m.rule_ids),
          cur.entity,
          now,
          now,
          `split from ${id} by ${actor}: ${reason}`,
          JSON.stringify(m.mitre),
          cur.rule_author,
          cur.rule_license,
          cur.unit_id,
          cur.unit_name,
          cur.unit_path,
          cur.unit_criticality,
          priorityScore(m.severity, cur.unit_criticality),
          cur.tags,
          id,
        );
      const move = this.db.prepare('UPDATE incident_alerts SET incident_id = ? WHERE alert_id = ?');
      const moveEvidence = this.db.prepare(
        "UPDATE incident_evidence SET incident_id = ? WHERE incident_id = ? AND kind = 'alert' AND ref_id = ?",
      );
      for (const a of ids) {
        move.run(newId, a);
        moveEvidence.run(newId, id, a);
      }
      const span = this.db.prepare(
        'SELECT COUNT(*) AS n, MIN(ts) AS first, MAX(ts) AS last FROM incident_alerts WHERE incident_id = ?',
      );
      const ns = span.get(newId) as { n: number; first: number; last: number };
      this.db
        .prepare('UPDATE incidents SET alert_count = ?, first_seen = ?, last_seen = ? WHERE id = ?')
        .run(ns.n, ns.first, ns.last, newId);
      const ks = span.get(id) as { n: number; first: number; last: number };
      const k = summaries.kept;
      this.db
        .prepare(
          `UPDATE incidents SET alert_count = ?, first_seen = ?, last_seen = ?, severity = ?, rule_ids = ?, mitre = ?,
             priority = ?, updated_at = ? WHERE id = ?`,
        )
        .run(
          ks.n,
          ks.first,
          ks.last,
          k?.severity ?? cur.severity,
          k ? JSON.stringify(k.rule_ids) : cur.rule_ids,
          k ? JSON.stringify(k.mitre) : cur.mitre,
          priorityScore(k?.severity ?? cur.severity, cur.unit_criticality),
          now,
          id,
        );
      this.history(newId, actor, null, 'new', `split from ${id} (${ids.length} alerts): ${reason}`, now);
      this.history(
        id,
        actor,
        cur.status,
        cur.status,
        `split ${ids.length} alerts into ${newId}: ${reason}`,
        now,
      );
      return { source: this.mustGet(id), created: this.mustGet(newId) };
    });
    return tx.immediate();
  }

  /**
   * SLA report per unit and severity over incidents created in [from, to): counts, breaches, and mean
   * minutes to acknowledge and to close. Scoped like every read.
   */
  async slaReport(q: { from?: number; to?: number; scope?: UnitScope }): Promise<SlaReportRow[]> {
    const sc = scopeClause(q.scope);
    const where = [sc.sql, REAL_INCIDENTS_SQL];
    const args: unknown[] = [...sc.args];
    if (q.from !== undefined) {
      where.push('created_at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('created_at < ?');
      args.push(q.to);
    }
    const rows = this.db
      .prepare(
        `SELECT unit_path, severity, COUNT(*) AS incidents,
           SUM(CASE WHEN status IN ('new','acknowledged','in_progress') THEN 1 ELSE 0 END) AS open,
           SUM((SELECT COUNT(*) FROM json_each(incidents.sla, '$.breaches') WHERE json_extract(value, '$.kind') = 'acknowledge')) AS acknowledge_breaches,
           SUM((SELECT COUNT(*) FROM json_each(incidents.sla, '$.breaches') WHERE json_extract(value, '$.kind') = 'resolve')) AS resolve_breaches,
           AVG(CASE WHEN acknowledged_at IS NOT NULL THEN (acknowledged_at - created_at) / 60000.0 END) AS mean_minutes_to_acknowledge,
           AVG(CASE WHEN closed_at IS NOT NULL THEN (closed_at - created_at) / 60000.0 END) AS mean_minutes_to_close
         FROM incidents WHERE ${where.join(' AND ')}
         GROUP BY unit_path, severity ORDER BY unit_path, severity`,
      )
      .all(...args) as SlaReportRow[];
    return rows.map((r) => ({
      ...r,
      mean_minutes_to_acknowledge: round(r.mean_minutes_to_acknowledge),
      mean_minutes_to_close: round(r.mean_minutes_to_close),
    }));
  }

  // IncidentQueueViews: the SQL lives in ./incident-queue.ts.
  async queuePage(
    f: QueueFilter,
    ctx: QueueContext,
    page: { page: number; size: number; group?: QueueGroup },
  ): Promise<QueuePageResult> {
    return queueViews.queuePage(this.db, (id) => this.getSync(id), f, ctx, page);
  }
  async queueCount(f: QueueFilter, ctx: QueueContext): Promise<number> {
    return queueViews.queueCount(this.db, f, ctx);
  }
  async queueIds(f: QueueFilter, ctx: QueueContext, limit: number): Promise<string[]> {
    return queueViews.queueIds(this.db, f, ctx, limit);
  }
  async changedSince(q: {
    since: number;
    inclusive: boolean;
    scope?: UnitScope;
    limit: number;
  }): Promise<IncidentChange[]> {
    return queueViews.changedSince(this.db, q);
  }
  async activeIn(period: { start: number; end: number }): Promise<IncidentActivity[]> {
    return queueViews.activeIn(this.db, period);
  }

  private sla(id: string): SlaColumn {
    const row = this.db.prepare('SELECT sla FROM incidents WHERE id = ?').get(id) as
      { sla: string } | undefined;
    if (!row) throw new IncidentNotFoundError(`incident ${id} not found`);
    return JSON.parse(row.sla) as SlaColumn;
  }

  private history(
    id: string,
    actor: string,
    from: IncidentStatus | null,
    to: IncidentStatus,
    note: string,
    at: number,
  ): void {
    this.db
      .prepare(
        'INSERT INTO incident_history (incident_id, at, actor, from_status, to_status, note) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(id, at, actor, from, to, note);
  }

  private mustGetRow(id: string, scope?: UnitScope): Row {
    const row = this.db.prepare('SELECT * FROM incidents WHERE id = ?').get(id) as Row | undefined;
    if (!row || !inScope(scope, row.unit_path)) throw new IncidentNotFoundError(`incident ${id} not found`);
    return row;
  }

  private mustGet(id: string): Incident {
    return toIncident(this.mustGetRow(id));
  }
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 10) / 10;
}

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

function toIncident(r: Row): Incident {
  return {
    id: r.id,
    title: r.title,
    severity: r.severity,
    status: r.status,
    priority: r.priority,
    rule_ids: JSON.parse(r.rule_ids) as string[],
    entity: r.entity,
    group_key: r.group_key,
    alert_count: r.alert_count,
    first_seen: new Date(r.first_seen).toISOString(),
    last_seen: new Date(r.last_seen).toISOString(),
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
    assignee: r.assignee,
    queued: r.queued === 1,
    grouping_reason: r.grouping_reason,
    reason: r.reason,
    duplicate_of: r.duplicate_of,
    split_from: r.split_from ?? null,
    tags: JSON.parse(r.tags) as string[],
    mitre: JSON.parse(r.mitre) as Mitre,
    rule_author: r.rule_author,
    rule_license: r.rule_license,
    unit:
      r.unit_path === null
        ? null
        : {
            id: r.unit_id ?? '',
            name: r.unit_name ?? '',
            path: r.unit_path,
            criticality: r.unit_criticality ?? 'medium',
          },
    generation: r.generation,
    claim_expires_at: iso(r.claim_expires_at),
    acknowledged_at: iso(r.acknowledged_at),
    closed_at: iso(r.closed_at),
    reopened_at: iso(r.reopened_at),
    sla: toSla(JSON.parse(r.sla) as SlaColumn),
  };
}

function toSla(s: SlaColumn): Incident['sla'] {
  return {
    acknowledge_due: iso(s.acknowledge_due),
    resolve_due: iso(s.resolve_due),
    breaches: s.breaches.map((b) => ({ kind: b.kind, at: new Date(b.at).toISOString() })),
  };
}
