import { type Alert, type Severity } from '@citysoc/ecs';
import {
  assertTransition,
  groupKeyOf,
  incidentIdFor,
  incidentTitle,
  type IncidentStatus,
  joinsIncident,
  type SlaDeadline,
  type SlaKind,
  maxSeverity,
} from '@citysoc/incidents';
import {
  type Incident,
  type IncidentNote,
  type IncidentQuery,
  type Page,
  type RecordAlertResult,
} from '../ports';
import { clampLimit, decodeCursor, type Db, encodeCursor } from './db';

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

interface SlaColumn {
  acknowledge_due?: number;
  resolve_due?: number;
  breaches: Array<{ kind: SlaKind; at: number }>;
}

interface Row {
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
}

export class IncidentNotFoundError extends Error {
  readonly code = 'incident_not_found';
}
export class IncidentConflictError extends Error {
  readonly code = 'incident_conflict';
}

/** Incidents: grouping is a read-modify-write, so it runs in one IMMEDIATE transaction per alert. */
export class SqliteIncidentStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  recordAlert(alert: Alert, windowMs: number): RecordAlertResult {
    const tx = this.db.transaction((): RecordAlertResult => {
      const linked = this.db
        .prepare('SELECT incident_id FROM incident_alerts WHERE alert_id = ?')
        .get(alert.id) as { incident_id: string } | undefined;
      if (linked) return { incident: this.mustGet(linked.incident_id), created: false, duplicate: true };

      const groupKey = groupKeyOf(alert);
      const t = Date.parse(alert['@timestamp']);
      const at = Number.isNaN(t) ? this.now() : t;
      const now = this.now();
      const latest = this.db
        .prepare('SELECT * FROM incidents WHERE group_key = ? ORDER BY last_seen DESC LIMIT 1')
        .get(groupKey) as Row | undefined;
      const view = latest && {
        status: latest.status,
        firstSeenMs: latest.first_seen,
        lastSeenMs: latest.last_seen,
      };
      if (latest && joinsIncident(view, at, windowMs)) {
        this.db
          .prepare(
            'UPDATE incidents SET alert_count = alert_count + 1, first_seen = MIN(first_seen, ?), last_seen = MAX(last_seen, ?), severity = ?, updated_at = ? WHERE id = ?',
          )
          .run(at, at, maxSeverity(latest.severity, alert.rule.level), now, latest.id);
        this.db
          .prepare('INSERT INTO incident_alerts (alert_id, incident_id, ts) VALUES (?, ?, ?)')
          .run(alert.id, latest.id, at);
        return { incident: this.mustGet(latest.id), created: false, duplicate: false };
      }
      const id = incidentIdFor(groupKey, alert.id);
      const windowMin = Math.round(windowMs / 60_000);
      const reason = `Alerts of rule "${alert.rule.title}" (${alert.rule.id}) about ${alert.entity} within ${windowMin} min of each other are one incident.`;
      this.db
        .prepare(
          `INSERT INTO incidents (id, group_key, title, severity, status, rule_ids, entity, alert_count, first_seen, last_seen, created_at, updated_at, assignee, queued, grouping_reason)
           VALUES (?, ?, ?, ?, 'new', ?, ?, 1, ?, ?, ?, ?, NULL, 0, ?)`,
        )
        .run(
          id,
          groupKey,
          incidentTitle(alert),
          alert.rule.level,
          JSON.stringify([alert.rule.id]),
          alert.entity,
          at,
          at,
          now,
          now,
          reason,
        );
      this.db
        .prepare('INSERT INTO incident_alerts (alert_id, incident_id, ts) VALUES (?, ?, ?)')
        .run(alert.id, id, at);
      this.history(id, 'system', null, 'new', reason, now);
      return { incident: this.mustGet(id), created: true, duplicate: false };
    });
    return tx.immediate();
  }

  /** Called once the BullMQ job exists, so a crash in between is repaired by re-enqueueing unqueued incidents. */
  markQueued(id: string): void {
    this.db.prepare('UPDATE incidents SET queued = 1 WHERE id = ?').run(id);
  }

  listUnqueued(limit = 1000): Incident[] {
    return (
      this.db
        .prepare('SELECT * FROM incidents WHERE queued = 0 ORDER BY created_at LIMIT ?')
        .all(limit) as Row[]
    ).map(toIncident);
  }

  get(id: string): Incident | undefined {
    const row = this.db.prepare('SELECT * FROM incidents WHERE id = ?').get(id) as Row | undefined;
    return row && toIncident(row);
  }

  list(q: IncidentQuery): Page<Incident> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.status) {
      where.push('status = ?');
      args.push(q.status);
    }
    if (q.severity) {
      where.push('severity = ?');
      args.push(q.severity);
    }
    if (q.after) {
      const [ts, id] = decodeCursor(q.after);
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      args.push(ts, ts, id);
    }
    const limit = clampLimit(q.limit);
    const rows = this.db
      .prepare(
        `SELECT * FROM incidents ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
      )
      .all(...args, limit + 1) as Row[];
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toIncident),
      ...(rows.length > limit && last ? { next: encodeCursor(last.created_at, last.id) } : {}),
    };
  }

  alertIds(id: string): string[] {
    return (
      this.db
        .prepare('SELECT alert_id FROM incident_alerts WHERE incident_id = ? ORDER BY ts')
        .all(id) as Array<{ alert_id: string }>
    ).map((r) => r.alert_id);
  }

  notes(id: string): IncidentNote[] {
    return (
      this.db
        .prepare(
          'SELECT at, actor, from_status, to_status, note FROM incident_history WHERE incident_id = ? ORDER BY seq',
        )
        .all(id) as Array<IncidentNote & { at: number }>
    ).map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  }

  /** Claiming needs the incident to be unassigned and new; a second claimer gets a conflict, not a steal. */
  claim(id: string, actor: string): Incident {
    const tx = this.db.transaction(() => {
      const cur = this.mustGet(id);
      if (cur.status !== 'new') throw new IncidentConflictError(`incident ${id} is ${cur.status}, not new`);
      const now = this.now();
      this.db
        .prepare("UPDATE incidents SET status = 'claimed', assignee = ?, updated_at = ? WHERE id = ?")
        .run(actor, now, id);
      this.history(id, actor, cur.status, 'claimed', 'claimed from the queue', now);
      return this.mustGet(id);
    });
    return tx.immediate();
  }

  transition(id: string, to: IncidentStatus, actor: string, note: string): Incident {
    const tx = this.db.transaction(() => {
      const cur = this.mustGet(id);
      assertTransition(cur.status, to);
      const now = this.now();
      const assignee =
        to === 'new'
          ? null
          : to === 'claimed' || to === 'in_progress'
            ? (cur.assignee ?? actor)
            : cur.assignee;
      this.db
        .prepare('UPDATE incidents SET status = ?, assignee = ?, updated_at = ? WHERE id = ?')
        .run(to, assignee, now, id);
      this.history(id, actor, cur.status, to, note, now);
      return this.mustGet(id);
    });
    return tx.immediate();
  }

  setSlaDeadlines(id: string, deadlines: SlaDeadline[]): void {
    const tx = this.db.transaction(() => {
      const sla = this.sla(id);
      for (const d of deadlines) sla[d.kind === 'acknowledge' ? 'acknowledge_due' : 'resolve_due'] = d.dueMs;
      this.db.prepare('UPDATE incidents SET sla = ? WHERE id = ?').run(JSON.stringify(sla), id);
    });
    tx.immediate();
  }

  /** Records a missed deadline once (timers may fire twice after a restart); returns false if already known. */
  recordSlaBreach(id: string, kind: SlaKind, atMs: number): boolean {
    const tx = this.db.transaction(() => {
      const sla = this.sla(id);
      if (sla.breaches.some((b) => b.kind === kind)) return false;
      sla.breaches.push({ kind, at: atMs });
      this.db
        .prepare('UPDATE incidents SET sla = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify(sla), atMs, id);
      const cur = this.mustGet(id);
      this.history(
        id,
        'system',
        cur.status,
        cur.status,
        `SLA breached: not ${kind === 'acknowledge' ? 'claimed' : 'resolved'} in time; escalated`,
        atMs,
      );
      return true;
    });
    return tx.immediate();
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

  private mustGet(id: string): Incident {
    const inc = this.get(id);
    if (!inc) throw new IncidentNotFoundError(`incident ${id} not found`);
    return inc;
  }
}

function toIncident(r: Row): Incident {
  return {
    id: r.id,
    title: r.title,
    severity: r.severity,
    status: r.status,
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
    sla: toSla(JSON.parse(r.sla) as SlaColumn),
  };
}

function toSla(s: SlaColumn): Incident['sla'] {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    acknowledge_due: iso(s.acknowledge_due),
    resolve_due: iso(s.resolve_due),
    breaches: s.breaches.map((b) => ({ kind: b.kind, at: new Date(b.at).toISOString() })),
  };
}
