import { type Db } from './db';

/**
 * National reporting (issue 7): the durable half of the outbox. BullMQ schedules and retries deliveries, but
 * Redis here runs without persistence, so every report version is written here first and re-enqueued from
 * here after any restart; what the TAXII server acknowledged is recorded per object version, so a resumed
 * delivery sends exactly what is missing.
 */
export const REPORT_MIGRATIONS = [
  `CREATE TABLE report_versions (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     version TEXT NOT NULL,
     report_kind TEXT NOT NULL,
     trigger TEXT NOT NULL,
     bundle TEXT NOT NULL,
     object_count INTEGER NOT NULL,
     state TEXT NOT NULL,
     created_at TEXT NOT NULL,
     delivered_at TEXT,
     last_error TEXT,
     UNIQUE (kind, subject, version)
   );
   CREATE INDEX report_versions_state ON report_versions (state, created_at);
   CREATE INDEX report_versions_subject ON report_versions (subject, created_at);
   CREATE TABLE report_deliveries (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     report_id TEXT NOT NULL REFERENCES report_versions (id),
     at TEXT NOT NULL,
     collection TEXT NOT NULL,
     outcome TEXT NOT NULL,
     status_ids TEXT NOT NULL,
     total INTEGER NOT NULL,
     sent INTEGER NOT NULL,
     successes INTEGER NOT NULL,
     already_present INTEGER NOT NULL,
     failures INTEGER NOT NULL,
     skipped INTEGER NOT NULL,
     error_code TEXT,
     http_status INTEGER,
     error TEXT
   );
   CREATE INDEX report_deliveries_report ON report_deliveries (report_id, seq);
   CREATE TABLE report_sent_objects (
     collection TEXT NOT NULL,
     object_id TEXT NOT NULL,
     version TEXT NOT NULL,
     status_id TEXT NOT NULL,
     at TEXT NOT NULL,
     PRIMARY KEY (collection, object_id, version)
   );
   CREATE TABLE report_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE report_annotations (
     incident_id TEXT PRIMARY KEY,
     drill INTEGER NOT NULL DEFAULT 0,
     category TEXT,
     form03 TEXT NOT NULL DEFAULT '{}',
     requested_by TEXT,
     requested_at TEXT,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE iocs (
     type TEXT NOT NULL,
     value TEXT NOT NULL,
     source TEXT NOT NULL,
     indicator_id TEXT NOT NULL,
     valid_until TEXT,
     added_at TEXT NOT NULL,
     PRIMARY KEY (type, value, source)
   );`,
];

export type ReportVersionKind = 'incident' | 'summary';
export type ReportState = 'pending' | 'delivered' | 'failed';

export interface ReportVersion {
  id: string;
  kind: ReportVersionKind;
  /** Incident id, or `<label>/<start>/<end>` for a summary. */
  subject: string;
  /** The incident's `updated_at` (or the summary's `modified`): a new one is a new STIX version. */
  version: string;
  report_kind: string;
  /** `policy`, `lead:<name>`, `schedule`, `cli:<user>`. */
  trigger: string;
  bundle: {
    type: 'bundle';
    id: string;
    objects: Array<{ id: string; type: string } & Record<string, unknown>>;
  };
  object_count: number;
  state: ReportState;
  created_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

export interface ReportDelivery {
  seq: number;
  report_id: string;
  at: string;
  collection: string;
  /** `delivered`, `retrying` (transient failure, BullMQ retries), `failed` (permanent: an admin must act). */
  outcome: 'delivered' | 'retrying' | 'failed';
  status_ids: string[];
  total: number;
  /** Objects posted in this attempt (the rest had been acknowledged before). */
  sent: number;
  successes: number;
  already_present: number;
  failures: number;
  skipped: number;
  error_code: string | null;
  http_status: number | null;
  error: string | null;
}

export interface ReportAnnotation {
  incident_id: string;
  drill: boolean;
  category: string | null;
  form03: Record<string, unknown>;
  requested_by: string | null;
  requested_at: string | null;
  updated_at: string;
}

export type IocType = 'ipv4-addr' | 'ipv6-addr' | 'domain-name' | 'md5' | 'sha1' | 'sha256';

export interface Ioc {
  type: IocType;
  value: string;
  source: string;
  indicator_id: string;
  valid_until: string | null;
  added_at: string;
}

type VersionRow = Omit<ReportVersion, 'bundle'> & { bundle: string };
type DeliveryRow = Omit<ReportDelivery, 'status_ids'> & { status_ids: string };

export class SqliteReportStore {
  constructor(private readonly db: Db) {}

  /** Idempotent on (kind, subject, version): the same incident version is stored (and sent) once. */
  addVersion(v: Omit<ReportVersion, 'state' | 'created_at' | 'delivered_at' | 'last_error'>): {
    version: ReportVersion;
    created: boolean;
  } {
    const tx = this.db.transaction(() => {
      const existing = this.db
        .prepare('SELECT * FROM report_versions WHERE kind = ? AND subject = ? AND version = ?')
        .get(v.kind, v.subject, v.version) as VersionRow | undefined;
      if (existing) return { version: toVersion(existing), created: false };
      this.db
        .prepare(
          `INSERT INTO report_versions (id, kind, subject, version, report_kind, trigger, bundle, object_count, state, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
        )
        .run(
          v.id,
          v.kind,
          v.subject,
          v.version,
          v.report_kind,
          v.trigger,
          JSON.stringify(v.bundle),
          v.object_count,
          new Date().toISOString(),
        );
      return { version: this.mustGet(v.id), created: true };
    });
    return tx.immediate();
  }

  get(id: string): ReportVersion | undefined {
    const r = this.db.prepare('SELECT * FROM report_versions WHERE id = ?').get(id) as VersionRow | undefined;
    return r && toVersion(r);
  }

  /** Newest first. */
  listVersions(q: { subject?: string; state?: ReportState; limit?: number } = {}): ReportVersion[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.subject) {
      where.push('subject = ?');
      args.push(q.subject);
    }
    if (q.state) {
      where.push('state = ?');
      args.push(q.state);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM report_versions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`,
      )
      .all(...args, Math.min(Math.max(q.limit ?? 100, 1), 1000)) as VersionRow[];
    return rows.map(toVersion);
  }

  /** Oldest first: what a restarted reporter re-enqueues. */
  pending(limit = 1000): ReportVersion[] {
    return (
      this.db
        .prepare("SELECT * FROM report_versions WHERE state = 'pending' ORDER BY created_at, id LIMIT ?")
        .all(limit) as VersionRow[]
    ).map(toVersion);
  }

  setState(id: string, state: ReportState, error?: string): void {
    this.db
      .prepare('UPDATE report_versions SET state = ?, delivered_at = ?, last_error = ? WHERE id = ?')
      .run(state, state === 'delivered' ? new Date().toISOString() : null, error ?? null, id);
  }

  /** Back to pending (an admin fixed the configuration and asks for a resend). */
  requeue(id: string): boolean {
    return (
      this.db
        .prepare(
          "UPDATE report_versions SET state = 'pending', last_error = NULL WHERE id = ? AND state = 'failed'",
        )
        .run(id).changes > 0
    );
  }

  recordDelivery(d: Omit<ReportDelivery, 'seq' | 'at'>): ReportDelivery {
    const at = new Date().toISOString();
    const info = this.db
      .prepare(
        `INSERT INTO report_deliveries (report_id, at, collection, outcome, status_ids, total, sent, successes, already_present, failures, skipped, error_code, http_status, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        d.report_id,
        at,
        d.collection,
        d.outcome,
        JSON.stringify(d.status_ids),
        d.total,
        d.sent,
        d.successes,
        d.already_present,
        d.failures,
        d.skipped,
        d.error_code,
        d.http_status,
        d.error,
      );
    return { ...d, seq: Number(info.lastInsertRowid), at };
  }

  /** Newest first. */
  listDeliveries(
    q: { reportId?: string; outcome?: ReportDelivery['outcome']; limit?: number } = {},
  ): ReportDelivery[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.reportId) {
      where.push('report_id = ?');
      args.push(q.reportId);
    }
    if (q.outcome) {
      where.push('outcome = ?');
      args.push(q.outcome);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM report_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
      )
      .all(...args, Math.min(Math.max(q.limit ?? 100, 1), 1000)) as DeliveryRow[];
    return rows.map((r) => ({ ...r, status_ids: JSON.parse(r.status_ids) as string[] }));
  }

  /** Object versions the server acknowledged in one collection, among `candidates`. */
  acknowledged(collection: string, candidates: ReadonlyArray<{ id: string; version: string }>): Set<string> {
    const stmt = this.db.prepare(
      'SELECT 1 FROM report_sent_objects WHERE collection = ? AND object_id = ? AND version = ?',
    );
    const out = new Set<string>();
    for (const c of candidates) if (stmt.get(collection, c.id, c.version)) out.add(`${c.id}|${c.version}`);
    return out;
  }

  markAcknowledged(
    collection: string,
    statusId: string,
    objects: ReadonlyArray<{ id: string; version: string }>,
  ): void {
    const stmt = this.db.prepare(
      'INSERT OR IGNORE INTO report_sent_objects (collection, object_id, version, status_id, at) VALUES (?, ?, ?, ?, ?)',
    );
    const at = new Date().toISOString();
    this.db.transaction(() => {
      for (const o of objects) stmt.run(collection, o.id, o.version, statusId, at);
    })();
  }

  getMeta(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM report_state WHERE key = ?').get(key) as
      { value: string } | undefined;
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO report_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  annotation(incidentId: string): ReportAnnotation | undefined {
    const r = this.db.prepare('SELECT * FROM report_annotations WHERE incident_id = ?').get(incidentId) as
      (Omit<ReportAnnotation, 'drill' | 'form03'> & { drill: number; form03: string }) | undefined;
    return r && { ...r, drill: r.drill === 1, form03: JSON.parse(r.form03) as Record<string, unknown> };
  }

  /** Merges: fields left undefined keep their value. */
  annotate(
    incidentId: string,
    a: {
      drill?: boolean;
      category?: string | null;
      form03?: Record<string, unknown>;
      requestedBy?: string;
    },
  ): ReportAnnotation {
    const tx = this.db.transaction(() => {
      const cur = this.annotation(incidentId);
      const now = new Date().toISOString();
      const next = {
        drill: a.drill ?? cur?.drill ?? false,
        category: a.category === undefined ? (cur?.category ?? null) : a.category,
        form03: a.form03 ? { ...(cur?.form03 ?? {}), ...a.form03 } : (cur?.form03 ?? {}),
        requested_by: a.requestedBy ?? cur?.requested_by ?? null,
        requested_at: a.requestedBy ? now : (cur?.requested_at ?? null),
      };
      this.db
        .prepare(
          `INSERT INTO report_annotations (incident_id, drill, category, form03, requested_by, requested_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (incident_id) DO UPDATE SET drill = excluded.drill, category = excluded.category,
             form03 = excluded.form03, requested_by = excluded.requested_by, requested_at = excluded.requested_at,
             updated_at = excluded.updated_at`,
        )
        .run(
          incidentId,
          next.drill ? 1 : 0,
          next.category,
          JSON.stringify(next.form03),
          next.requested_by,
          next.requested_at,
          now,
        );
      return this.annotation(incidentId)!;
    });
    return tx.immediate();
  }

  /** Upsert by (type, value, source); returns how many were new. */
  upsertIocs(iocs: ReadonlyArray<Omit<Ioc, 'added_at'>>): number {
    const stmt = this.db.prepare(
      `INSERT INTO iocs (type, value, source, indicator_id, valid_until, added_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (type, value, source) DO UPDATE SET indicator_id = excluded.indicator_id, valid_until = excluded.valid_until`,
    );
    const exists = this.db.prepare('SELECT 1 FROM iocs WHERE type = ? AND value = ? AND source = ?');
    const at = new Date().toISOString();
    let added = 0;
    this.db.transaction(() => {
      for (const i of iocs) {
        if (!exists.get(i.type, i.value, i.source)) added++;
        stmt.run(i.type, i.value, i.source, i.indicator_id, i.valid_until, at);
      }
    })();
    return added;
  }

  /** Every IOC still valid at `now` (for an in-memory lookup set). */
  activeIocs(now = new Date().toISOString()): Ioc[] {
    return this.db
      .prepare('SELECT * FROM iocs WHERE valid_until IS NULL OR valid_until > ? ORDER BY type, value')
      .all(now) as Ioc[];
  }

  private mustGet(id: string): ReportVersion {
    const v = this.get(id);
    if (!v) throw new Error(`report version ${id} not found`);
    return v;
  }
}

function toVersion(r: VersionRow): ReportVersion {
  return { ...r, bundle: JSON.parse(r.bundle) as ReportVersion['bundle'] };
}
