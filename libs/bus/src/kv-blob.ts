import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { type JetStreamManager, type KV, type KvEntry } from 'nats';

const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);

/** Marks a manifest; a value without it is read as a legacy single value (the format before chunking). */
const MANIFEST_FORMAT = 'citysoc-kv-blob/1';
/** Well under NATS's default 1 MiB max_payload, with room for headers. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;
/** Chunks of other generations younger than this are left alone: a writer may still be finishing them. */
export const DEFAULT_ORPHAN_GRACE_MS = 60_000;

export interface BlobManifest {
  format: typeof MANIFEST_FORMAT;
  /** `<ms since epoch, base 36>-<random>`: unique per write, so racing writers never share chunk keys. */
  generation: string;
  chunks: number;
  /** Length of the compressed bytes (the chunks concatenated). */
  bytes: number;
  /** Length of the value once inflated. */
  rawBytes: number;
  /** sha256 (hex) of the compressed bytes. */
  sha256: string;
  encoding: 'deflate-raw';
}

export interface BlobRead {
  data: Buffer;
  /** Revision of the key (the manifest, or the legacy value): the compare-and-set fence for the next write. */
  revision: number;
  format: 'chunked' | 'legacy';
}

/** A stored value that cannot be read back whole; `revision` is the key's, so a writer can replace it. */
export class KvBlobError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly revision: number,
  ) {
    super(message);
    this.name = 'KvBlobError';
  }
}

export interface KvBlobOptions {
  chunkBytes?: number;
  orphanGraceMs?: number;
  /** zlib level (default 1: ~30% less CPU than 6 on correlation state for ~15% larger output, docs/sizing.md). */
  level?: number;
  /** Purging replaced or orphaned chunks failed (the write itself succeeded; a later sweep retries). */
  onCleanupError?: (err: unknown) => void;
}

/** A compare-and-set refused by the server: the write certainly did not happen. */
export function isRevisionConflict(e: unknown): boolean {
  return /wrong last sequence|key exists/i.test(e instanceof Error ? e.message : String(e));
}

/** Pure: split `data` into pieces of at most `size` bytes (none for an empty buffer). */
export function splitChunks(data: Buffer, size: number): Buffer[] {
  if (!Number.isInteger(size) || size <= 0)
    throw new RangeError(`chunk size must be a positive integer: ${size}`);
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** Pure: the manifest, if `value` is one; undefined for anything else (a legacy value). */
export function parseManifest(value: Uint8Array): BlobManifest | undefined {
  // A manifest is small; a large value is legacy data, not worth parsing twice.
  if (value.length > 4096 || value[0] !== 0x7b) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null || (m as { format?: unknown }).format !== MANIFEST_FORMAT)
    return undefined;
  const x = m as Record<string, unknown>;
  const nat = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
  if (
    typeof x.generation !== 'string' ||
    !/^[a-z0-9]+-[a-f0-9]+$/.test(x.generation) ||
    !nat(x.chunks) ||
    !nat(x.bytes) ||
    !nat(x.rawBytes) ||
    typeof x.sha256 !== 'string' ||
    !/^[a-f0-9]{64}$/.test(x.sha256) ||
    x.encoding !== 'deflate-raw'
  )
    throw new Error(`malformed manifest: ${JSON.stringify(m).slice(0, 200)}`);
  return m as BlobManifest;
}

/** Pure: the inflated value of the chunks of `m`, or an error naming what does not match. */
export async function assemble(m: BlobManifest, chunks: (Uint8Array | undefined)[]): Promise<Buffer> {
  const missing = chunks.findIndex((c) => c === undefined);
  if (missing >= 0) throw new Error(`chunk ${missing} of ${m.chunks} missing`);
  const packed = Buffer.concat(chunks as Uint8Array[]);
  if (packed.length !== m.bytes) throw new Error(`${packed.length} bytes, manifest says ${m.bytes}`);
  const sha = createHash('sha256').update(packed).digest('hex');
  if (sha !== m.sha256) throw new Error(`sha256 ${sha} does not match the manifest's ${m.sha256}`);
  const raw = m.bytes === 0 ? Buffer.alloc(0) : await inflateAsync(packed);
  if (raw.length !== m.rawBytes)
    throw new Error(`inflated to ${raw.length} bytes, manifest says ${m.rawBytes}`);
  return raw;
}

/**
 * A value larger than NATS's max payload, kept in a KV bucket: compressed, split into chunks under
 * `<key>.g.<generation>.<i>`, then a small manifest written at `<key>` itself — last, so a crash before it
 * leaves the previous value readable, and `<key>`'s revision stays the compare-and-set fence it was with
 * single values. A legacy single value at `<key>` reads as it is. The previous generation's chunks are
 * purged once the new manifest is in place; chunks of a crashed or fenced-out write are purged by a sweep
 * (on `sweep()` and at most once per grace period on write). Purged by stream purge, so no delete marker
 * accumulates per generation.
 */
export class KvBlobStore {
  private readonly chunkBytes: number;
  private readonly graceMs: number;
  private readonly level: number;
  private readonly onCleanupError: (err: unknown) => void;
  private stream?: { name: string; subjectPrefix: string };
  /** Generation this store last read or wrote per key (the one whose chunks go once replaced). */
  private readonly current = new Map<string, string>();
  private readonly lastSweep = new Map<string, number>();
  /** Keys the last-message lookup missed and a consumer found (see `latest`): for logs and tests. */
  lookupMisses = 0;

  constructor(
    private readonly kv: KV,
    /** For stream purges (chunks go without leaving a delete marker per key). */
    private readonly jsm: JetStreamManager,
    opts: KvBlobOptions = {},
  ) {
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.graceMs = opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS;
    this.level = opts.level ?? 1;
    this.onCleanupError = opts.onCleanupError ?? (() => undefined);
    splitChunks(Buffer.alloc(0), this.chunkBytes); // validates the size
  }

  /**
   * The value at `key`, undefined if none. Throws KvBlobError when a manifest is there but its chunks are
   * missing, corrupt or do not match it (after re-reading in case a writer replaced it meanwhile).
   */
  async read(key: string): Promise<BlobRead | undefined> {
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const e = await this.latest(key);
      if (!e || e.value.length === 0 || e.operation !== 'PUT') return undefined;
      let m: BlobManifest | undefined;
      try {
        m = parseManifest(e.value);
      } catch (err) {
        throw new KvBlobError(`${key}: ${(err as Error).message}`, key, e.revision);
      }
      if (!m) return { data: Buffer.from(e.value), revision: e.revision, format: 'legacy' };
      const chunks = await Promise.all(
        Array.from({ length: m.chunks }, async (_, i) => {
          const c = await this.latest(this.chunkKey(key, m.generation, i));
          return c && c.operation === 'PUT' ? c.value : undefined;
        }),
      );
      try {
        const data = await assemble(m, chunks);
        this.current.set(key, m.generation);
        return { data, revision: e.revision, format: 'chunked' };
      } catch (err) {
        lastError = (err as Error).message;
        // A writer may have replaced the manifest and purged these chunks since: read again if so.
        const now = await this.latest(key);
        if (now?.revision === e.revision)
          throw new KvBlobError(`${key} generation ${m.generation}: ${lastError}`, key, e.revision);
      }
    }
    throw new KvBlobError(`${key}: replaced during every read attempt (${lastError})`, key, 0);
  }

  /**
   * Writes `data` at `key` and returns the manifest's revision. With `expectedRevision` the manifest is a
   * compare-and-set (0: the key must not exist), and on a conflict this write's chunks are purged and the
   * error rethrown.
   */
  async write(key: string, data: Buffer, expectedRevision?: number): Promise<number> {
    const packed = data.length === 0 ? Buffer.alloc(0) : await deflateAsync(data, { level: this.level });
    const generation = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const chunks = splitChunks(packed, this.chunkBytes);
    // Sequential: a burst of parallel quarter-megabyte puts only queues up in the same connection.
    for (let i = 0; i < chunks.length; i++) await this.kv.put(this.chunkKey(key, generation, i), chunks[i]!);
    const manifest: BlobManifest = {
      format: MANIFEST_FORMAT,
      generation,
      chunks: chunks.length,
      bytes: packed.length,
      rawBytes: data.length,
      sha256: createHash('sha256').update(packed).digest('hex'),
      encoding: 'deflate-raw',
    };
    const value = Buffer.from(JSON.stringify(manifest));
    let revision: number;
    try {
      revision =
        expectedRevision === undefined
          ? await this.kv.put(key, value)
          : expectedRevision === 0
            ? await this.kv.create(key, value)
            : await this.kv.update(key, value, expectedRevision);
    } catch (err) {
      // Only a refused compare-and-set certainly left these chunks unreferenced; after a timeout the manifest
      // may be in place, so they stay (a sweep purges them if not).
      if (isRevisionConflict(err)) await this.purgeGeneration(key, generation).catch(this.onCleanupError);
      throw err;
    }
    const previous = this.current.get(key);
    this.current.set(key, generation);
    // The value is written: cleanup failures are reported, not thrown (the caller would roll back for nothing).
    if (previous && previous !== generation)
      await this.purgeGeneration(key, previous).catch(this.onCleanupError);
    const last = this.lastSweep.get(key) ?? 0;
    if (Date.now() - last >= this.graceMs) await this.sweep(key).catch(this.onCleanupError);
    return revision;
  }

  /**
   * Purges chunks of `key` that belong to no manifest (a crashed or fenced-out write) and are older than
   * the grace period. Returns the generations purged.
   */
  async sweep(key: string): Promise<string[]> {
    this.lastSweep.set(key, Date.now());
    const e = await this.kv.get(key);
    let keep: string | undefined;
    try {
      keep = e && e.operation === 'PUT' ? parseManifest(e.value)?.generation : undefined;
    } catch {
      keep = undefined;
    }
    const prefix = `${key}.g.`;
    const gens = new Set<string>();
    for await (const k of await this.kv.keys(`${prefix}>`)) {
      const g = k.slice(prefix.length).split('.')[0];
      if (g) gens.add(g);
    }
    const purged: string[] = [];
    for (const g of gens) {
      if (g === keep || g === this.current.get(key)) continue;
      const born = parseInt(g.split('-')[0] ?? '', 36);
      if (Number.isFinite(born) && Date.now() - born < this.graceMs) continue;
      await this.purgeGeneration(key, g);
      purged.push(g);
    }
    return purged;
  }

  /**
   * The latest entry of a key. A `get` asks the stream for the last message on the key's subject; after node
   * restarts nats-server 2.9 can answer "no message" for a subject that holds one (its per-subject index out
   * of step; upstream nats-server#4643 and #5054 describe such misses), and the chaos suite saw a restarted
   * detector read no correlation state at all, ten times over ten seconds. A consumer over the key's subject
   * reads the messages themselves, so a miss is asked once more that way before it is believed.
   */
  private async latest(key: string): Promise<KvEntry | null> {
    const e = await this.kv.get(key);
    if (e) return e;
    let last: KvEntry | null = null;
    for await (const h of await this.kv.history({ key })) last = h;
    if (last) this.lookupMisses++;
    return last;
  }

  /** The bucket's stream state and cluster placement as one line (diagnostics). */
  async describe(): Promise<string> {
    const s = await this.streamOf();
    const info = await this.jsm.streams.info(s.name);
    const { messages, first_seq, last_seq, num_subjects, num_deleted } = info.state;
    const c = info.cluster;
    const replicas = (c?.replicas ?? []).map(
      (r) => `${r.name}${r.current ? '' : ' (behind)'} lag ${r.lag ?? 0}`,
    );
    return `${s.name}: ${messages} messages, seq ${first_seq}..${last_seq}, ${num_subjects ?? '?'} subjects, ${num_deleted ?? 0} deleted; leader ${c?.leader ?? '-'}; replicas ${replicas.join(', ') || '-'}`;
  }

  private chunkKey(key: string, generation: string, i: number): string {
    return `${key}.g.${generation}.${i}`;
  }

  private async purgeGeneration(key: string, generation: string): Promise<void> {
    const s = await this.streamOf();
    await this.jsm.streams.purge(s.name, { filter: `${s.subjectPrefix}${key}.g.${generation}.>` });
  }

  private async streamOf(): Promise<{ name: string; subjectPrefix: string }> {
    if (!this.stream) {
      const st = await this.kv.status();
      this.stream = { name: st.streamInfo.config.name, subjectPrefix: `$KV.${st.bucket}.` };
    }
    return this.stream;
  }
}
