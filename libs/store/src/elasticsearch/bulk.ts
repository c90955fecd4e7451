import { type Client, errors } from '@elastic/elasticsearch';
import { type RejectedDocument, type WriteResult } from '../ports';

export interface BulkDoc<T> {
  index: string;
  id: string;
  doc: Record<string, unknown>;
  /** What the caller handed in, returned untouched when Elasticsearch rejects the document. */
  item: T;
}

export interface BulkSettings {
  /** Documents per bulk request. */
  maxDocs: number;
  /** Approximate bytes per bulk request (Elasticsearch's http.max_content_length is 100 MB). */
  maxBytes: number;
  /** Bulk requests in flight at once; further writers wait (back-pressure up to the bus consumer). */
  maxInFlight: number;
  /** Attempts per request for 429/503/connection errors before the batch fails as a whole. */
  maxAttempts: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** `wait_for` makes writes visible to the next search (tests, drills); off in production. */
  refresh: false | 'wait_for';
}

export const DEFAULT_BULK: BulkSettings = {
  maxDocs: 1000,
  maxBytes: 5 * 1024 * 1024,
  maxInFlight: 2,
  maxAttempts: 6,
  baseBackoffMs: 200,
  maxBackoffMs: 10_000,
  refresh: false,
};

/** Thrown when Elasticsearch stays overloaded or unreachable: nothing is acked, the bus redelivers. */
export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable';
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export function isRetryable(err: unknown): boolean {
  if (err instanceof errors.ResponseError) return RETRYABLE_STATUS.has(err.statusCode ?? 0);
  return err instanceof errors.ConnectionError || err instanceof errors.TimeoutError;
}

/** Full jitter would make the retry tests non-deterministic; the schedule is exponential and capped. */
export function backoff(attempt: number, s: Pick<BulkSettings, 'baseBackoffMs' | 'maxBackoffMs'>): number {
  return Math.min(s.maxBackoffMs, s.baseBackoffMs * 2 ** attempt);
}

interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } };
}

/**
 * Writes with `create` and the caller's deterministic `_id`, so a replay is a 409 per item, which counts as
 * already stored. Per-item 429/503 are retried; any other per-item failure is returned as rejected — never
 * dropped — for the caller to dead-letter with the original document.
 */
export class BulkWriter {
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  readonly stats: {
    requests: number;
    retries: number;
    created: number;
    duplicates: number;
    rejected: number;
    lastFailure?: { at: string; message: string };
  } = { requests: 0, retries: 0, created: 0, duplicates: 0, rejected: 0 };

  constructor(
    private readonly client: Client,
    private readonly s: BulkSettings,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async write<T>(docs: BulkDoc<T>[]): Promise<WriteResult<T>> {
    const out: WriteResult<T> = { inserted: 0, duplicates: 0, rejected: [] };
    for (const chunk of this.chunks(docs)) {
      const r = await this.withSlot(() => this.writeChunk(chunk));
      out.inserted += r.inserted;
      out.duplicates += r.duplicates;
      out.rejected.push(...r.rejected);
    }
    return out;
  }

  private *chunks<T>(docs: BulkDoc<T>[]): Generator<BulkDoc<T>[]> {
    let cur: BulkDoc<T>[] = [];
    let bytes = 0;
    for (const d of docs) {
      const size = JSON.stringify(d.doc).length + d.id.length + d.index.length + 40;
      if (cur.length > 0 && (cur.length >= this.s.maxDocs || bytes + size > this.s.maxBytes)) {
        yield cur;
        cur = [];
        bytes = 0;
      }
      cur.push(d);
      bytes += size;
    }
    if (cur.length > 0) yield cur;
  }

  private async withSlot<R>(fn: () => Promise<R>): Promise<R> {
    while (this.inFlight >= this.s.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
      this.waiters.shift()?.();
    }
  }

  private async writeChunk<T>(chunk: BulkDoc<T>[]): Promise<WriteResult<T>> {
    const out: WriteResult<T> = { inserted: 0, duplicates: 0, rejected: [] };
    let pending = chunk;
    let lastError = '';
    for (let attempt = 0; attempt < this.s.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        await this.sleep(backoff(attempt - 1, this.s));
      }
      let items: Array<Record<string, BulkItemResult | undefined>>;
      try {
        this.stats.requests++;
        const res = await this.client.bulk({
          operations: pending.flatMap((d) => [{ create: { _index: d.index, _id: d.id } }, d.doc]),
          ...(this.s.refresh ? { refresh: this.s.refresh } : {}),
        });
        items = res.items;
      } catch (err) {
        if (!isRetryable(err)) {
          this.stats.lastFailure = { at: new Date().toISOString(), message: describeError(err) };
          throw err;
        }
        lastError = describeError(err);
        continue;
      }
      if (!Array.isArray(items) || items.length !== pending.length) {
        throw new Error(
          `bulk answered ${Array.isArray(items) ? items.length : 'no'} items for ${pending.length} operations`,
        );
      }
      const retry: BulkDoc<T>[] = [];
      pending.forEach((d, i) => {
        const r = items[i]?.['create'];
        const status = r?.status ?? 0;
        if (status >= 200 && status < 300) out.inserted++;
        else if (status === 409) out.duplicates++;
        else if (RETRYABLE_STATUS.has(status)) {
          retry.push(d);
          lastError = `${status} ${r?.error?.type ?? ''}`.trim();
        } else out.rejected.push(rejection(d, status, r));
      });
      pending = retry;
    }
    this.stats.created += out.inserted;
    this.stats.duplicates += out.duplicates;
    this.stats.rejected += out.rejected.length;
    if (out.rejected.length > 0) {
      const r = out.rejected[0] as RejectedDocument<T>;
      this.stats.lastFailure = {
        at: new Date().toISOString(),
        message: `${out.rejected.length} documents rejected (first: ${r.status} ${r.reason})`,
      };
    }
    if (pending.length > 0) {
      this.stats.lastFailure = {
        at: new Date().toISOString(),
        message: `${pending.length} documents not accepted after ${this.s.maxAttempts} attempts: ${lastError}`,
      };
      throw new StoreUnavailableError(
        `Elasticsearch did not accept ${pending.length} documents after ${this.s.maxAttempts} attempts: ${lastError}`,
      );
    }
    return out;
  }
}

function rejection<T>(d: BulkDoc<T>, status: number, r: BulkItemResult | undefined): RejectedDocument<T> {
  const e = r?.error;
  const cause = e?.caused_by ? ` (${e.caused_by.type ?? ''}: ${e.caused_by.reason ?? ''})` : '';
  return {
    id: d.id,
    item: d.item,
    status,
    reason: e
      ? `${e.type ?? 'error'}: ${e.reason ?? ''}${cause}`
      : `no result for the operation (status ${status})`,
  };
}

function describeError(err: unknown): string {
  if (err instanceof errors.ResponseError) return `${err.statusCode ?? '?'} ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
