import { createHash } from 'node:crypto';
import { type Db } from './db';

export const AUDIT_MIGRATIONS = [
  `CREATE TABLE audit_log (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     outcome TEXT NOT NULL,
     detail TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );`,
];

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: 'success' | 'failure';
  detail: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** What a caller records; the log adds seq, time and the chain. */
export interface AuditInput {
  actor: string;
  action: string;
  target: string;
  outcome: 'success' | 'failure';
  detail?: Record<string, unknown>;
}

export const AUDIT_GENESIS = '0'.repeat(64);
const GENESIS = AUDIT_GENESIS;

/** Shared by every audit log backend, so a chain verifies the same wherever it is stored. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const canonical = JSON.stringify([
    e.seq,
    e.at,
    e.actor,
    e.action,
    e.target,
    e.outcome,
    e.detail,
    e.prev_hash,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * Tamper-evident audit trail: each entry's hash covers the previous one, so editing or deleting a past row
 * breaks the chain at that point, which `verify` reports.
 */
export class SqliteAuditLog {
  constructor(private readonly db: Db) {}

  append(e: AuditInput): AuditEntry {
    const tx = this.db.transaction(() => {
      const last = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
        { seq: number; hash: string } | undefined;
      const base = {
        seq: (last?.seq ?? 0) + 1,
        at: new Date().toISOString(),
        actor: e.actor,
        action: e.action,
        target: e.target,
        outcome: e.outcome,
        detail: e.detail ?? {},
        prev_hash: last?.hash ?? GENESIS,
      };
      const entry: AuditEntry = { ...base, hash: entryHash(base) };
      this.db
        .prepare(
          'INSERT INTO audit_log (seq, at, actor, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          entry.seq,
          entry.at,
          entry.actor,
          entry.action,
          entry.target,
          entry.outcome,
          JSON.stringify(entry.detail),
          entry.prev_hash,
          entry.hash,
        );
      return entry;
    });
    return tx.immediate();
  }

  list(limit = 100, beforeSeq?: number): AuditEntry[] {
    const rows = (
      beforeSeq === undefined
        ? this.db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(limit)
        : this.db
            .prepare('SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?')
            .all(beforeSeq, limit)
    ) as Array<Omit<AuditEntry, 'detail'> & { detail: string }>;
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  verify(): { ok: boolean; entries: number; brokenAt?: number } {
    let prev = GENESIS;
    let n = 0;
    for (const r of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as Iterable<
      Omit<AuditEntry, 'detail'> & { detail: string }
    >) {
      const e = { ...r, detail: JSON.parse(r.detail) as Record<string, unknown> };
      const { hash, ...rest } = e;
      if (e.prev_hash !== prev || entryHash(rest) !== hash) return { ok: false, entries: n, brokenAt: e.seq };
      prev = hash;
      n++;
    }
    return { ok: true, entries: n };
  }
}
