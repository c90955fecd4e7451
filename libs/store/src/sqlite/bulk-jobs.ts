import { randomUUID } from 'node:crypto';
import { type Db } from './db';

export const BULK_JOB_MIGRATIONS = [
  `CREATE TABLE bulk_jobs (
     id TEXT PRIMARY KEY,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     query TEXT NOT NULL,
     matched INTEGER NOT NULL,
     done INTEGER NOT NULL DEFAULT 0,
     succeeded INTEGER NOT NULL DEFAULT 0,
     failures TEXT NOT NULL DEFAULT '[]',
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     finished_at INTEGER
   );
   CREATE INDEX bulk_jobs_actor ON bulk_jobs (actor, created_at);`,
];

/** A job still `running` whose runner has not reported for this long died with its API process. */
export const BULK_JOB_STALE_MS = 30_000;
/** Failures kept per job (ids and errors); the count is always exact. */
const MAX_FAILURES_KEPT = 1000;

export interface BulkJob {
  id: string;
  actor: string;
  action: string;
  query: Record<string, unknown>;
  matched: number;
  done: number;
  succeeded: number;
  failed: number;
  failures: Array<{ id: string; error: string }>;
  status: 'running' | 'finished' | 'interrupted';
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

interface Row {
  id: string;
  actor: string;
  action: string;
  query: string;
  matched: number;
  done: number;
  succeeded: number;
  failures: string;
  status: 'running' | 'finished';
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/**
 * Progress of bulk actions run in the background by the API. Rows live in the control database, so any API
 * process can answer a progress poll; a runner reports at least every few seconds, and a job whose runner
 * went silent reads as `interrupted` (the incidents it already changed stay changed and audited).
 */
export class SqliteBulkJobStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  create(actor: string, action: string, query: Record<string, unknown>, matched: number): BulkJob {
    const id = randomUUID();
    const now = this.now();
    this.db
      .prepare(
        `INSERT INTO bulk_jobs (id, actor, action, query, matched, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?)`,
      )
      .run(id, actor, action, JSON.stringify(query), matched, now, now);
    return this.get(id)!;
  }

  /** Adds a batch's outcome; `finished` closes the job. */
  progress(
    id: string,
    batch: { succeeded: number; failures: Array<{ id: string; error: string }> },
    finished = false,
  ): void {
    const tx = this.db.transaction(() => {
      const row = this.db.prepare('SELECT failures FROM bulk_jobs WHERE id = ?').get(id) as
        { failures: string } | undefined;
      if (!row) return;
      const failures = (JSON.parse(row.failures) as Array<{ id: string; error: string }>)
        .concat(batch.failures)
        .slice(0, MAX_FAILURES_KEPT);
      const now = this.now();
      this.db
        .prepare(
          `UPDATE bulk_jobs SET done = done + ?, succeeded = succeeded + ?, failures = ?, updated_at = ?,
             status = CASE WHEN ? THEN 'finished' ELSE status END, finished_at = CASE WHEN ? THEN ? ELSE finished_at END
           WHERE id = ?`,
        )
        .run(
          batch.succeeded + batch.failures.length,
          batch.succeeded,
          JSON.stringify(failures),
          now,
          finished ? 1 : 0,
          finished ? 1 : 0,
          now,
          id,
        );
    });
    tx.immediate();
  }

  get(id: string): BulkJob | undefined {
    const r = this.db.prepare('SELECT * FROM bulk_jobs WHERE id = ?').get(id) as Row | undefined;
    if (!r) return undefined;
    const failures = JSON.parse(r.failures) as Array<{ id: string; error: string }>;
    const stale = r.status === 'running' && this.now() - r.updated_at > BULK_JOB_STALE_MS;
    return {
      id: r.id,
      actor: r.actor,
      action: r.action,
      query: JSON.parse(r.query) as Record<string, unknown>,
      matched: r.matched,
      done: r.done,
      succeeded: r.succeeded,
      failed: r.done - r.succeeded,
      failures,
      status: stale ? 'interrupted' : r.status,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.updated_at).toISOString(),
      finished_at: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
    };
  }
}
