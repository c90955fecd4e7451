import { type Client } from '@elastic/elasticsearch';
import { type IncidentStatus, type Mitre } from '@citysoc/incidents';
import { type AuditEntry, SqliteAuditLog } from '../sqlite/audit-log';
import { type Db } from '../sqlite/db';
import { type IncidentRow } from '../sqlite/incident-store';
import { type ElasticsearchAuditLog } from './audit-log';
import { BulkWriter, type BulkSettings, DEFAULT_BULK } from './bulk';
import {
  type EvidenceDoc,
  groupHeadId,
  type IncidentLifecycleDoc,
  type IncidentSlaDoc,
  withDerived,
} from './incident-docs';
import { type ElasticsearchIncidentStore } from './incident-store';

/**
 * Copying the incident history of the SQLite control database (`citysoc.sqlite`) into Elasticsearch, for a
 * deployment that moves its incidents to the city-scale store (docs/elasticsearch.md, "Migrating incidents
 * from SQLite").
 *
 * - Reads one SQLite snapshot (a read transaction held for the whole run), so counts and documents agree
 *   even if something still writes.
 * - Every document gets the id the Elasticsearch store itself would give it (incident id, alert id, the
 *   group key's hash, the audit seq) and is written with bulk `create`: a re-run (or a run resumed after a
 *   crash) skips what is there. A document that is there but differs from what this run would write
 *   (SQLite changed since, or the cluster was already used live) is never overwritten: it is reported.
 * - Claim state is dropped: lease tokens and expiries belong to the responder processes of the SQLite
 *   deployment and mean nothing after the switch. Status and assignee stay.
 * - The audit log is copied as it is, chain and all (same seq, time, hash): `entryHash` is shared, so the
 *   copy verifies with ElasticsearchAuditLog.verify, and hashes already handed to anyone stay valid.
 *   Re-chaining would launder a tampered entry into a valid chain, so a broken source chain is refused.
 */

/** What both sides are compared on at the end. */
export interface MigrationCounts {
  incidents: number;
  alert_links: number;
  groups: number;
  audit_entries: number;
}

interface HistoryRow {
  incident_id: string;
  at: number;
  actor: string;
  from_status: IncidentStatus | null;
  to_status: IncidentStatus;
  note: string;
}

export interface AlertLink {
  alert_id: string;
  incident_id: string;
  ts: number;
}

export interface GroupHead {
  group_key: string;
  incident_id: string;
}

/** An incident that could not be converted (a malformed JSON column): counted, never skipped silently. */
export interface UnreadableIncident {
  id: string;
  error: string;
}

const parse = <T>(id: string, column: string, text: string): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`incident ${id}: column ${column} is not valid JSON`);
  }
};

/**
 * The incident document ElasticsearchIncidentStore keeps, from SQLite's rows: the same fields its
 * recordAlert/merge/split would have written, alert ids in SQLite's (ts, alert id) order, no claim.
 */
export function incidentDocFromSqlite(
  r: IncidentRow,
  alerts: AlertLink[],
  history: HistoryRow[],
  comments: Array<{ at: number; actor: string; text: string }>,
  evidence: EvidenceDoc[],
): IncidentLifecycleDoc {
  const sla = parse<IncidentSlaDoc>(r.id, 'sla', r.sla);
  return withDerived({
    id: r.id,
    status: r.status,
    assignee: r.assignee,
    reason: r.reason,
    duplicate_of: r.duplicate_of,
    created_at: r.created_at,
    updated_at: r.updated_at,
    acknowledged_at: r.acknowledged_at,
    closed_at: r.closed_at,
    reopened_at: r.reopened_at,
    claim_token: null,
    claim_expires_at: null,
    history: history.map((h) => ({
      at: h.at,
      actor: h.actor,
      from: h.from_status,
      to: h.to_status,
      text: h.note,
    })),
    unit_path: r.unit_path,
    tags: parse<string[]>(r.id, 'tags', r.tags),
    comments: comments.map((c) => ({ at: c.at, actor: c.actor, text: c.text })),
    outbox: [],
    queued: r.queued === 1,
    split_from: r.split_from ?? null,
    sla: { ...sla, breaches: sla.breaches ?? [] },
    evidence,
    group: {
      key: r.group_key,
      title: r.title,
      severity: r.severity,
      rule_ids: parse<string[]>(r.id, 'rule_ids', r.rule_ids),
      entity: r.entity,
      alert_count: r.alert_count,
      first_seen: r.first_seen,
      last_seen: r.last_seen,
      reason: r.grouping_reason,
      mitre: parse<Mitre>(r.id, 'mitre', r.mitre),
      priority: r.priority,
      generation: r.generation,
      unit:
        r.unit_path === null
          ? null
          : {
              id: r.unit_id ?? '',
              name: r.unit_name ?? '',
              path: r.unit_path.split('/'),
              criticality: r.unit_criticality ?? 'medium',
            },
      alert_ids: alerts.map((a) => a.alert_id),
      alert_ts: alerts.map((a) => a.ts),
      rule_author: r.rule_author,
      rule_license: r.rule_license,
    },
  });
}

/** Reads the control database for the migration, in id order, batch by batch (keyset pagination). */
export class SqliteIncidentSource {
  constructor(private readonly db: Db) {}

  /**
   * Runs `fn` inside one read transaction: every read sees the same snapshot (WAL keeps it while writers
   * go on), so the source counts are those of what was copied.
   */
  async snapshot<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('BEGIN');
    try {
      // The snapshot starts at the first read, not at BEGIN.
      this.db.prepare('SELECT 1 FROM incidents LIMIT 1').get();
      return await fn();
    } finally {
      this.db.exec('COMMIT');
    }
  }

  counts(): MigrationCounts {
    const n = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      incidents: n('SELECT COUNT(*) AS n FROM incidents'),
      alert_links: n('SELECT COUNT(*) AS n FROM incident_alerts'),
      groups: n('SELECT COUNT(DISTINCT group_key) AS n FROM incidents'),
      audit_entries: n('SELECT COUNT(*) AS n FROM audit_log'),
    };
  }

  /** The incidents after `afterId` (exclusive), up to `limit`, as documents; unreadable ones apart. */
  incidents(
    afterId: string,
    limit: number,
  ): { docs: IncidentLifecycleDoc[]; unreadable: UnreadableIncident[]; last?: string } {
    const rows = this.db
      .prepare('SELECT * FROM incidents WHERE id > ? ORDER BY id LIMIT ?')
      .all(afterId, limit) as IncidentRow[];
    if (rows.length === 0) return { docs: [], unreadable: [] };
    const first = (rows[0] as IncidentRow).id;
    const last = (rows[rows.length - 1] as IncidentRow).id;
    const byIncident = <T extends { incident_id: string }>(sql: string): Map<string, T[]> => {
      const m = new Map<string, T[]>();
      for (const x of this.db.prepare(sql).all(first, last) as T[]) {
        const list = m.get(x.incident_id) ?? [];
        list.push(x);
        m.set(x.incident_id, list);
      }
      return m;
    };
    const alerts = byIncident<AlertLink>(
      'SELECT alert_id, incident_id, ts FROM incident_alerts WHERE incident_id BETWEEN ? AND ? ORDER BY incident_id, ts, alert_id',
    );
    const history = byIncident<HistoryRow>(
      'SELECT incident_id, at, actor, from_status, to_status, note FROM incident_history WHERE incident_id BETWEEN ? AND ? ORDER BY incident_id, seq',
    );
    const comments = byIncident<{ incident_id: string; at: number; actor: string; text: string }>(
      'SELECT incident_id, at, actor, text FROM incident_comments WHERE incident_id BETWEEN ? AND ? ORDER BY incident_id, seq',
    );
    const evidence = byIncident<EvidenceDoc & { incident_id: string }>(
      'SELECT incident_id, kind, ref_id, note, actor, at FROM incident_evidence WHERE incident_id BETWEEN ? AND ? ORDER BY incident_id, at, kind, ref_id',
    );
    const docs: IncidentLifecycleDoc[] = [];
    const unreadable: UnreadableIncident[] = [];
    for (const r of rows) {
      try {
        docs.push(
          incidentDocFromSqlite(
            r,
            alerts.get(r.id) ?? [],
            history.get(r.id) ?? [],
            comments.get(r.id) ?? [],
            (evidence.get(r.id) ?? []).map((e) => ({
              kind: e.kind,
              ref_id: e.ref_id,
              note: e.note,
              actor: e.actor,
              at: e.at,
            })),
          ),
        );
      } catch (e) {
        unreadable.push({ id: r.id, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return { docs, unreadable, last };
  }

  /** Alert links after `afterAlertId`, in alert id order. */
  alertLinks(afterAlertId: string, limit: number): AlertLink[] {
    return this.db
      .prepare(
        'SELECT alert_id, incident_id, ts FROM incident_alerts WHERE alert_id > ? ORDER BY alert_id LIMIT ?',
      )
      .all(afterAlertId, limit) as AlertLink[];
  }

  /**
   * Each group's latest incident, the one SQLite's recordAlert places the next alert against
   * (`ORDER BY last_seen DESC, id`): the Elasticsearch group head names the same one.
   */
  groupHeads(afterKey: string, limit: number): GroupHead[] {
    return this.db
      .prepare(
        `SELECT g.group_key AS group_key,
           (SELECT i.id FROM incidents i WHERE i.group_key = g.group_key ORDER BY i.last_seen DESC, i.id LIMIT 1) AS incident_id
         FROM (SELECT DISTINCT group_key FROM incidents WHERE group_key > ? ORDER BY group_key LIMIT ?) g`,
      )
      .all(afterKey, limit) as GroupHead[];
  }

  auditEntries(afterSeq: number, limit: number): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(afterSeq, limit) as Array<Omit<AuditEntry, 'detail'> & { detail: string }>;
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  verifyAudit(): { ok: boolean; entries: number; brokenAt?: number } {
    return new SqliteAuditLog(this.db).verify();
  }
}

/** What one batch of create-only writes did. */
export interface ImportResult {
  created: number;
  /** Already there and identical (an earlier run). */
  existing: number;
  /** Already there and different: never overwritten, reported (first ids). */
  differing: string[];
  /** Refused by Elasticsearch (mapping, size): reported with the reason. */
  rejected: Array<{ id: string; reason: string }>;
}

/** JSON with object keys sorted: two documents compare equal whatever order their fields came back in. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/**
 * Writes migrated documents into the indices ElasticsearchIncidentStore reads, with bulk `create` (the
 * BulkWriter: batching, 429/503 retries with backoff, per-item rejections returned). What was already
 * there is compared with what would have been written.
 */
export class ElasticsearchIncidentImporter {
  private readonly bulk: BulkWriter;

  constructor(
    private readonly client: Client,
    private readonly store: ElasticsearchIncidentStore,
    o: { bulk?: Partial<BulkSettings>; sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.bulk = new BulkWriter(
      client,
      { ...DEFAULT_BULK, ...o.bulk },
      o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    );
  }

  get stats(): BulkWriter['stats'] {
    return this.bulk.stats;
  }

  async incidents(docs: IncidentLifecycleDoc[]): Promise<ImportResult> {
    return this.write(
      this.store.index,
      docs.map((d) => ({ id: d.id, doc: d as unknown as Record<string, unknown> })),
    );
  }

  async alertLinks(links: AlertLink[]): Promise<ImportResult> {
    return this.write(
      this.store.docs.alertsIndex,
      links.map((l) => ({ id: l.alert_id, doc: { incident_id: l.incident_id, ts: l.ts } })),
    );
  }

  async groupHeads(heads: GroupHead[]): Promise<ImportResult> {
    return this.write(
      this.store.docs.groupsIndex,
      heads.map((h) => ({
        id: groupHeadId(h.group_key),
        doc: { group_key: h.group_key, incident_id: h.incident_id },
      })),
    );
  }

  /** Document counts of the three incident indices (after a refresh, so they include this run). */
  async counts(): Promise<Omit<MigrationCounts, 'audit_entries'>> {
    const indices = [this.store.index, this.store.docs.alertsIndex, this.store.docs.groupsIndex];
    await this.client.indices.refresh({ index: indices.join(','), ignore_unavailable: true });
    const [incidents, alertLinks, groups] = await Promise.all(indices.map((i) => this.count(i)));
    return { incidents: incidents ?? 0, alert_links: alertLinks ?? 0, groups: groups ?? 0 };
  }

  private async count(index: string): Promise<number> {
    try {
      return (await this.client.count({ index })).count;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return 0;
      throw e;
    }
  }

  private async write(index: string, docs: Array<{ id: string; doc: Record<string, unknown> }>) {
    const out: ImportResult = { created: 0, existing: 0, differing: [], rejected: [] };
    if (docs.length === 0) return out;
    const r = await this.bulk.write(docs.map((d) => ({ index, id: d.id, doc: d.doc, item: d.id })));
    out.created = r.inserted;
    out.rejected = r.rejected.map((x) => ({ id: x.id, reason: x.reason }));
    if (r.duplicates > 0) {
      const rejected = new Set(out.rejected.map((x) => x.id));
      const want = new Map(docs.filter((d) => !rejected.has(d.id)).map((d) => [d.id, canonicalJson(d.doc)]));
      const got = await this.client.mget<Record<string, unknown>>({ index, ids: [...want.keys()] });
      // Created by this request: the same bytes; found from an earlier run: compared.
      for (const d of got.docs) {
        if (!('found' in d) || !d.found) continue;
        if (canonicalJson(d._source) !== want.get(d._id)) out.differing.push(d._id);
      }
      out.existing = r.duplicates - out.differing.length;
    }
    return out;
  }
}

export interface MigrationProgress {
  phase: 'incidents' | 'alert_links' | 'groups' | 'audit';
  done: number;
  total: number;
  created: number;
  existing: number;
  /** The last key of the batch (incident id, alert id, group key, audit seq). */
  last: string;
}

export interface MigrationReport {
  dry_run: boolean;
  source: MigrationCounts;
  /** Absent on a dry run (nothing was read from Elasticsearch). */
  target?: MigrationCounts;
  created: MigrationCounts;
  existing: MigrationCounts;
  differing: { count: number; first: string[] };
  rejected: { count: number; first: Array<{ id: string; reason: string }> };
  unreadable: { count: number; first: UnreadableIncident[] };
  audit: { copied: boolean; source_verified?: boolean; target_verified?: boolean; broken_at?: number };
  /** True when every count matches, nothing differed, was rejected or unreadable, and the chain verifies. */
  ok: boolean;
}

export interface MigrateOptions {
  dryRun?: boolean;
  /** Documents per read and per bulk write. */
  batchSize?: number;
  /** Copy the audit log too (default true). */
  audit?: boolean;
  progress?: (p: MigrationProgress) => void;
}

const zero = (): MigrationCounts => ({ incidents: 0, alert_links: 0, groups: 0, audit_entries: 0 });

/**
 * The whole migration: incidents (each with its history, comments, tags, evidence, SLA), alert links,
 * group heads, then the audit log; then the count comparison. Idempotent: a second run creates nothing and
 * reports everything as existing.
 */
export async function migrateIncidents(
  source: SqliteIncidentSource,
  target: { importer: ElasticsearchIncidentImporter; audit: ElasticsearchAuditLog } | undefined,
  o: MigrateOptions = {},
): Promise<MigrationReport> {
  const dryRun = o.dryRun === true || target === undefined;
  const batch = o.batchSize ?? 500;
  const withAudit = o.audit !== false;
  return source.snapshot(async () => {
    const counts = source.counts();
    const created = zero();
    const existing = zero();
    const differing: string[] = [];
    const rejected: Array<{ id: string; reason: string }> = [];
    const unreadable: UnreadableIncident[] = [];
    let nDiffering = 0;
    let nRejected = 0;
    const tally = (key: keyof MigrationCounts, r: ImportResult) => {
      created[key] += r.created;
      existing[key] += r.existing;
      nDiffering += r.differing.length;
      nRejected += r.rejected.length;
      differing.push(...r.differing.slice(0, Math.max(0, 20 - differing.length)));
      rejected.push(...r.rejected.slice(0, Math.max(0, 20 - rejected.length)));
    };
    const report = (
      phase: MigrationProgress['phase'],
      key: keyof MigrationCounts,
      done: number,
      last: string,
    ) =>
      o.progress?.({
        phase,
        done,
        total: counts[key],
        created: created[key],
        existing: existing[key],
        last,
      });
    const none: ImportResult = { created: 0, existing: 0, differing: [], rejected: [] };

    const audit: MigrationReport['audit'] = { copied: false };
    if (withAudit) {
      const v = source.verifyAudit();
      audit.source_verified = v.ok;
      // A broken chain is not copied (re-chaining would hide the tampering); nothing else is written.
      if (!v.ok) {
        audit.broken_at = v.brokenAt;
        return {
          dry_run: dryRun,
          source: counts,
          created,
          existing,
          differing: { count: 0, first: [] },
          rejected: { count: 0, first: [] },
          unreadable: { count: 0, first: [] },
          audit,
          ok: false,
        };
      }
    }

    // The audit log first: a target log with a history of its own stops the run before any incident is written.
    let done = 0;
    if (withAudit) {
      for (let after = 0; ;) {
        const entries = source.auditEntries(after, batch);
        const last = entries[entries.length - 1];
        if (!last) break;
        after = last.seq;
        if (!dryRun) {
          const r = await target.audit.importChain(entries);
          tally('audit_entries', { ...none, created: r.created, existing: r.existing });
        }
        done += entries.length;
        report('audit', 'audit_entries', done, String(after));
      }
      audit.copied = !dryRun;
    }
    done = 0;
    let nUnreadable = 0;
    for (let after = ''; ;) {
      const b = source.incidents(after, batch);
      if (b.last === undefined) break;
      after = b.last;
      nUnreadable += b.unreadable.length;
      unreadable.push(...b.unreadable.slice(0, Math.max(0, 20 - unreadable.length)));
      if (!dryRun) tally('incidents', await target.importer.incidents(b.docs));
      done += b.docs.length + b.unreadable.length;
      report('incidents', 'incidents', done, after);
    }
    done = 0;
    for (let after = ''; ;) {
      const links = source.alertLinks(after, batch);
      const last = links[links.length - 1];
      if (!last) break;
      after = last.alert_id;
      tally('alert_links', dryRun ? none : await target.importer.alertLinks(links));
      done += links.length;
      report('alert_links', 'alert_links', done, after);
    }
    done = 0;
    for (let after = ''; ;) {
      const heads = source.groupHeads(after, batch);
      const last = heads[heads.length - 1];
      if (!last) break;
      after = last.group_key;
      tally('groups', dryRun ? none : await target.importer.groupHeads(heads));
      done += heads.length;
      report('groups', 'groups', done, after);
    }

    let targetCounts: MigrationCounts | undefined;
    if (!dryRun) {
      const c = await target.importer.counts();
      const v = withAudit ? await target.audit.verify() : undefined;
      targetCounts = { ...c, audit_entries: v?.entries ?? 0 };
      if (v) {
        audit.target_verified = v.ok;
        if (!v.ok) audit.broken_at = v.brokenAt;
      }
    }
    const sameCounts =
      targetCounts !== undefined &&
      targetCounts.incidents === counts.incidents &&
      targetCounts.alert_links === counts.alert_links &&
      targetCounts.groups === counts.groups &&
      (!withAudit || targetCounts.audit_entries === counts.audit_entries);
    return {
      dry_run: dryRun,
      source: counts,
      ...(targetCounts ? { target: targetCounts } : {}),
      created,
      existing,
      differing: { count: nDiffering, first: differing },
      rejected: { count: nRejected, first: rejected },
      unreadable: { count: nUnreadable, first: unreadable },
      audit,
      ok:
        nDiffering === 0 &&
        nRejected === 0 &&
        nUnreadable === 0 &&
        (dryRun || (sameCounts && audit.target_verified !== false)),
    };
  });
}
