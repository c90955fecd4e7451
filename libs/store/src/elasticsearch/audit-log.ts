import { type Client, errors } from '@elastic/elasticsearch';
import { AUDIT_GENESIS, type AuditEntry, type AuditInput, entryHash } from '../sqlite/audit-log';

/**
 * The hash-chained audit log on Elasticsearch, with the SQLite log's semantics (seq from 1, each entry's
 * hash covering the previous one, `verify` reporting the first entry whose link fails).
 *
 * Elasticsearch has no multi-document transaction, so the chain is serialised by two single-document
 * guarantees:
 * - entry N is written with `op_type: create` and `_id` = N: of two writers that read the same head, only
 *   one can create N; the other gets 409 and starts again;
 * - the head document (`{seq, hash}` of the last entry) only moves forward under optimistic concurrency
 *   (`if_seq_no`/`if_primary_term`); a 409 means someone else moved it, so re-read and retry.
 * The entry is created before the head moves. A writer that dies between the two leaves entry N+1 with
 * the head still at N; the next writer's create of N+1 answers 409, it reads N+1 and moves the head there
 * itself (under the same optimistic concurrency), then appends N+2. No repair pass is needed and nothing
 * written is lost.
 *
 * Reads use `_mget` by id, which is real-time in Elasticsearch (a search would only see refreshed
 * documents), so an entry is visible to `list`/`verify` as soon as `append` returns.
 */

export interface ElasticsearchAuditLogOptions {
  /** Index of the entries (a regular index, not a data stream: documents are addressed by id). */
  index?: string;
  /** Index of the single chain-head document. */
  headIndex?: string;
  /** Attempts before giving up under contention (each is one read plus up to two writes). */
  maxAttempts?: number;
  now?: () => Date;
}

export const DEFAULT_AUDIT_INDEX = 'citysoc-audit';
const HEAD_ID = 'head';
const MGET_BATCH = 500;

/** A chain that cannot be imported as it is (a gap, a broken link, or a clash with entries already here). */
export class AuditImportError extends Error {
  readonly code = 'audit_import';
}

export class AuditContentionError extends Error {
  readonly code = 'audit_contention';
}

interface Head {
  seq: number;
  hash: string;
  /** Absent while no head document exists yet. */
  version?: { seqNo: number; primaryTerm: number };
}

type StoredEntry = Omit<AuditEntry, 'detail'> & { detail: Record<string, unknown> };

function isStatus(e: unknown, status: number): boolean {
  return e instanceof errors.ResponseError && e.statusCode === status;
}

/** The installed index template: entries are looked up by id; `detail` is kept, never mapped. */
export function auditIndexTemplate(index: string, headIndex: string): Record<string, unknown> {
  return {
    index_patterns: [index, headIndex],
    priority: 300,
    template: {
      settings: { number_of_shards: 1, 'index.hidden': true },
      mappings: {
        dynamic: 'strict',
        properties: {
          seq: { type: 'long' },
          at: { type: 'date' },
          actor: { type: 'keyword' },
          action: { type: 'keyword' },
          target: { type: 'keyword' },
          outcome: { type: 'keyword' },
          detail: { type: 'object', enabled: false },
          prev_hash: { type: 'keyword' },
          hash: { type: 'keyword' },
        },
      },
    },
    _meta: { managed_by: 'citysoc' },
  };
}

export class ElasticsearchAuditLog {
  readonly index: string;
  readonly headIndex: string;
  private readonly maxAttempts: number;
  private readonly now: () => Date;
  /** Appends that found someone else's write first and retried (for tests and metrics). */
  conflicts = 0;

  constructor(
    private readonly client: Client,
    o: ElasticsearchAuditLogOptions = {},
  ) {
    this.index = o.index ?? DEFAULT_AUDIT_INDEX;
    this.headIndex = o.headIndex ?? `${this.index}-head`;
    this.maxAttempts = o.maxAttempts ?? 50;
    this.now = o.now ?? (() => new Date());
  }

  /** PUTs the index template (idempotent); call once at start, before the first append. */
  async install(): Promise<void> {
    const body: Parameters<Client['indices']['putIndexTemplate']>[0] = {
      name: this.index,
      ...auditIndexTemplate(this.index, this.headIndex),
    };
    await this.client.indices.putIndexTemplate(body);
  }

  /**
   * Appends an entry. With `once`, the append is idempotent on `once.key` (kept as `detail.outbox_key`):
   * the entries after `once.since` (a seq read before the entry was first attempted) are searched for the
   * key first, so an outbox drained twice — because the writer died between appending and clearing its
   * outbox — appends it once. Reads by id, so the check is real-time.
   */
  async append(e: AuditInput, once?: { key: string; since: number }): Promise<AuditEntry> {
    let scannedTo = once?.since ?? 0;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const head = await this.readHead();
      if (once) {
        const found = await this.findKey(once.key, scannedTo + 1, head.seq);
        if (found) return found;
        scannedTo = Math.max(scannedTo, head.seq);
      }
      const base = {
        seq: head.seq + 1,
        at: this.now().toISOString(),
        actor: e.actor,
        action: e.action,
        target: e.target,
        outcome: e.outcome,
        detail: once ? { ...(e.detail ?? {}), outbox_key: once.key } : (e.detail ?? {}),
        prev_hash: head.hash,
      };
      const entry: AuditEntry = { ...base, hash: entryHash(base) };
      try {
        await this.client.index({
          index: this.index,
          id: String(entry.seq),
          op_type: 'create',
          document: entry,
        });
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
        // Entry seq exists: another writer got there first, or one died before moving the head.
        this.conflicts++;
        const existing = await this.getEntry(entry.seq);
        if (existing) await this.moveHead(head, existing).catch(ignoreConflict);
        continue;
      }
      try {
        await this.moveHead(head, entry);
      } catch (err) {
        // Someone already moved the head past our entry (helping after seeing our create): ours stands.
        if (!isStatus(err, 409)) throw err;
        this.conflicts++;
      }
      return entry;
    }
    throw new AuditContentionError(`audit append gave up after ${this.maxAttempts} conflicting attempts`);
  }

  /**
   * Copies entries of another log (the SQLite one) as they are — seq, time, hash — so the chain, and any
   * hash already handed out, stays valid here (docs/elasticsearch.md, "Migrating incidents from SQLite").
   * `entries` must be consecutive and chained, starting right after what this log holds or inside it: an
   * entry already here with the same hash is skipped (a re-run), one with another hash means this log has
   * a history of its own, and nothing is written. The head moves to the last entry (never backwards).
   */
  async importChain(entries: AuditEntry[]): Promise<{ created: number; existing: number }> {
    const first = entries[0];
    if (!first) return { created: 0, existing: 0 };
    let prev = first.seq === 1 ? AUDIT_GENESIS : (await this.getEntry(first.seq - 1))?.hash;
    if (prev === undefined)
      throw new AuditImportError(`entry ${first.seq - 1} is missing here: import the chain from its start`);
    for (const [i, e] of entries.entries()) {
      const { hash, ...rest } = e;
      if (e.seq !== first.seq + i || e.prev_hash !== prev || entryHash(rest) !== hash)
        throw new AuditImportError(`entry ${e.seq} does not continue the chain: not imported`);
      prev = hash;
    }
    const have = await this.getEntries(entries.map((e) => e.seq));
    const clash = entries.find((e) => have.has(e.seq) && have.get(e.seq)?.hash !== e.hash);
    if (clash)
      throw new AuditImportError(
        `entry ${clash.seq} already exists in ${this.index} with another hash: that log has a history of its own`,
      );
    const missing = entries.filter((e) => !have.has(e.seq));
    if (missing.length > 0) {
      const res = await this.client.bulk({
        operations: missing.flatMap((e) => [{ create: { _index: this.index, _id: String(e.seq) } }, e]),
      });
      const failed = res.items.findIndex((it) => (it.create?.status ?? 0) >= 300);
      if (failed >= 0) {
        const it = res.items[failed]?.create;
        throw new AuditImportError(
          `entry ${missing[failed]?.seq}: ${it?.status} ${it?.error?.type ?? ''} ${it?.error?.reason ?? ''}`.trim(),
        );
      }
    }
    const last = entries[entries.length - 1] as AuditEntry;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const head = await this.readHead();
      if (head.seq >= last.seq) break;
      try {
        await this.moveHead(head, last);
        break;
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
        this.conflicts++;
      }
    }
    return { created: missing.length, existing: entries.length - missing.length };
  }

  /** Newest first, like the SQLite log; `beforeSeq` pages backwards. */
  async list(limit = 100, beforeSeq?: number): Promise<AuditEntry[]> {
    const last = await this.lastSeq();
    const out: AuditEntry[] = [];
    let top = Math.min(last, beforeSeq === undefined ? last : beforeSeq - 1);
    while (out.length < limit && top >= 1) {
      const bottom = Math.max(1, top - Math.max(limit - out.length, 1) + 1);
      const ids: number[] = [];
      for (let s = top; s >= bottom; s--) ids.push(s);
      const docs = await this.getEntries(ids);
      for (const s of ids) {
        const d = docs.get(s);
        if (d && out.length < limit) out.push(d);
      }
      top = bottom - 1;
    }
    return out;
  }

  /**
   * Walks the chain from seq 1. An edited entry fails its own hash; a deleted one makes the next entry's
   * `prev_hash` fail (reported there, as on SQLite); a deleted last entry, which SQLite cannot notice,
   * is reported here because the head still names it.
   */
  async verify(): Promise<{ ok: boolean; entries: number; brokenAt?: number }> {
    const head = await this.readHead();
    let prev = AUDIT_GENESIS;
    let n = 0;
    let missingFrom: number | undefined;
    for (let from = 1; ; from += MGET_BATCH) {
      const ids = Array.from({ length: MGET_BATCH }, (_, i) => from + i);
      const docs = await this.getEntries(ids);
      for (const s of ids) {
        const e = docs.get(s);
        if (!e) {
          // Past the head, the first gap is the end of the chain (entries beyond the head are the ones
          // a writer created before it died; they belong to the chain).
          if (s > head.seq) {
            if (missingFrom !== undefined) return { ok: false, entries: n, brokenAt: missingFrom };
            return { ok: true, entries: n };
          }
          missingFrom ??= s;
          continue;
        }
        const { hash, ...rest } = e;
        if (e.prev_hash !== prev || entryHash(rest) !== hash)
          return { ok: false, entries: n, brokenAt: e.seq };
        missingFrom = undefined;
        prev = hash;
        n++;
      }
    }
  }

  private async readHead(): Promise<Head> {
    try {
      const r = await this.client.get<{ seq: number; hash: string }>({ index: this.headIndex, id: HEAD_ID });
      if (!r.found || !r._source) return { seq: 0, hash: AUDIT_GENESIS };
      return {
        seq: r._source.seq,
        hash: r._source.hash,
        version: { seqNo: r._seq_no as number, primaryTerm: r._primary_term as number },
      };
    } catch (err) {
      if (isStatus(err, 404)) return { seq: 0, hash: AUDIT_GENESIS };
      throw err;
    }
  }

  /** Moves the head from what was read to `entry`, or fails with 409 if it moved in between. */
  private async moveHead(read: Head, entry: AuditEntry): Promise<void> {
    await this.client.index({
      index: this.headIndex,
      id: HEAD_ID,
      document: { seq: entry.seq, hash: entry.hash },
      ...(read.version
        ? { if_seq_no: read.version.seqNo, if_primary_term: read.version.primaryTerm }
        : { op_type: 'create' as const }),
    });
  }

  /** The entry among seq from..to carrying this outbox key, if any. */
  private async findKey(key: string, from: number, to: number): Promise<AuditEntry | undefined> {
    for (let lo = from; lo <= to; lo += MGET_BATCH) {
      const ids = Array.from({ length: Math.min(MGET_BATCH, to - lo + 1) }, (_, i) => lo + i);
      for (const e of (await this.getEntries(ids)).values()) if (e.detail['outbox_key'] === key) return e;
    }
    return undefined;
  }

  /** The last entry's seq (0 for an empty log): where an outbox entry's duplicate search starts. */
  async headSeq(): Promise<number> {
    return this.lastSeq();
  }

  /** The head's seq, or further if entries were created after it (a writer died before moving it). */
  private async lastSeq(): Promise<number> {
    let seq = (await this.readHead()).seq;
    while (await this.getEntry(seq + 1)) seq++;
    return seq;
  }

  private async getEntry(seq: number): Promise<AuditEntry | undefined> {
    return (await this.getEntries([seq])).get(seq);
  }

  private async getEntries(seqs: number[]): Promise<Map<number, AuditEntry>> {
    const out = new Map<number, AuditEntry>();
    if (seqs.length === 0) return out;
    try {
      const r = await this.client.mget<StoredEntry>({ index: this.index, ids: seqs.map(String) });
      for (const d of r.docs) {
        if ('found' in d && d.found && d._source) out.set(d._source.seq, d._source);
      }
    } catch (err) {
      // The index does not exist before the first append.
      if (!isStatus(err, 404)) throw err;
    }
    return out;
  }
}

function ignoreConflict(err: unknown): void {
  if (!isStatus(err, 409)) throw err;
}
