import {
  type ExporterFacts,
  type FlowError,
  type FlowJsonOptions,
  flowRecordId,
  flowToEcsJson,
  type FlowRecord,
  type MessageInfo,
  type RecordLayout,
  type TemplateScope,
} from '@citysoc/flow';

/** Records of one version, consecutive in their datagram, as comma-joined ECS JSON documents. */
export interface RecordRun {
  version: number;
  /** `flowRecordId` of the first record: the run is named `<firstId>-<count>`. */
  firstId: string;
  count: number;
  /** The documents' JSON joined by commas, UTF-8 encoded: a view into a `ByteSlab`. */
  utf8: Uint8Array;
}

/** Where `renderRuns` writes a run's UTF-8: a `ByteSlab`, or the message bodies of the run's version. */
export interface RunWriter {
  put(run: string, version: number): Uint8Array;
}

/** Bytes of a fresh slab buffer; a run that does not fit starts a buffer of its own size. */
const SLAB_BYTES = 1 << 20;
/** Buffers with views out that a recycling slab keeps track of; older ones are left to the GC. */
const MAX_TRACKED = 64;
/** Spare buffers a recycling slab keeps for reuse. */
const MAX_FREE = 4;

/** Node's Buffer has it on its prototype (what `write` calls for UTF-8); @types/node leaves it out. */
interface Utf8Writer {
  utf8Write(s: string, offset: number, length: number): number;
}

interface Chunk {
  buf: Buffer;
  /** Runs handed out of it and not released yet. */
  live: number;
}

/**
 * Where runs are written as UTF-8: big buffers handed out as views, so a datagram's JSON is encoded once,
 * straight into the bytes the batcher copies into a message — no batch-sized string (a join of a
 * megabyte, in V8's large-object space) re-encoded per message. Bytes handed out are never written again while a view may read them:
 * - `recycle` (the main thread): a full buffer is reused only once every run taken from it was released
 *   (`release`, called when its batch's message body was built, i.e. copied); a run never released only
 *   means its buffer is left to the GC. Reuse matters: each buffer is off-heap memory, and allocating a
 *   fresh megabyte per ~900 records made V8 run more full collections than the strings it replaced.
 * - `transfer` (a worker): every buffer written goes out with the reply (`takeBuffers`, a transfer list),
 *   so the main thread gets the bytes without a copy; none is reused.
 */
export class ByteSlab implements RunWriter {
  private cur: Chunk;
  private off = 0;
  /** Buffers with runs out (recycle mode), by their ArrayBuffer. */
  private readonly out = new Map<ArrayBufferLike, Chunk>();
  private readonly free: Buffer[] = [];
  /** The buffers written since `takeBuffers` (transfer mode). */
  private used: ArrayBuffer[] = [];

  constructor(
    private readonly size = SLAB_BYTES,
    private readonly mode: 'recycle' | 'transfer' = 'recycle',
  ) {
    this.cur = this.fresh(size);
  }

  /**
   * Writes one run (its documents already joined: one join of flat strings is cheaper than encoding every
   * document on its own) and hands its bytes out (recycle mode: until `release`).
   */
  put(run: string): Uint8Array {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const worst = run.length * 3;
    if (this.off + worst > this.cur.buf.length) {
      const next = this.fresh(Math.max(this.size, worst));
      this.retire();
      this.cur = next;
      this.off = 0;
    }
    const c = this.cur;
    const start = this.off;
    // Buffer's own UTF-8 writer, without `write`'s argument normalisation (a few % of the collector's CPU).
    const buf = c.buf as Buffer & Utf8Writer;
    this.off += buf.utf8Write(run, start, buf.length - start);
    if (this.mode === 'recycle' && c.live++ === 0) this.out.set(c.buf.buffer, c);
    return c.buf.subarray(start, this.off);
  }

  /** A run's bytes are no longer read (copied into a message body). Views of other slabs are ignored. */
  release(view: Uint8Array): void {
    const c = this.out.get(view.buffer);
    if (!c || c.live === 0) return;
    if (--c.live > 0) return;
    this.out.delete(view.buffer);
    if (c !== this.cur) this.recycle(c.buf);
  }

  /** Transfer mode: the buffers written so far (the current one included); starts a new buffer. */
  takeBuffers(): ArrayBuffer[] {
    const out = this.used;
    this.used = [];
    this.cur = this.fresh(this.size);
    this.off = 0;
    return out;
  }

  /** The current buffer is full: reused at once when nothing of it is out, else once its runs are released. */
  private retire(): void {
    const c = this.cur;
    if (this.mode !== 'recycle') return;
    if (c.live === 0) {
      this.recycle(c.buf);
      return;
    }
    if (this.out.size > MAX_TRACKED) {
      const oldest = this.out.keys().next().value;
      if (oldest !== undefined) this.out.delete(oldest);
    }
  }

  private recycle(buf: Buffer): void {
    if (buf.length === this.size && this.free.length < MAX_FREE) this.free.push(buf);
  }

  private fresh(size: number): Chunk {
    const reused = size === this.size ? this.free.pop() : undefined;
    const buf = reused ?? Buffer.allocUnsafeSlow(size);
    if (this.mode === 'transfer') this.used.push(buf.buffer as ArrayBuffer);
    return { buf, live: 0 };
  }
}

/** A datagram decoded and rendered, in a form that crosses a worker boundary (structured clone). */
export interface RenderedDatagram {
  runs: RecordRun[];
  /** Records per version, for the per-version counter. */
  perVersion: Array<[number, number]>;
  messages: MessageInfo[];
  errors: FlowError[];
  records: number;
}

export interface RenderOptions {
  receivedAt: Date;
  unitJson?: (ip: string) => string | undefined;
  /** `unitJson` of an IPv4 address held as a number (`unitJsonV4For`). */
  unitJsonV4?: (ip: number) => string | undefined;
  /** The facts of a scope (sampling rate, interface names) the ECS mapping reads. */
  factsOf(scope: TemplateScope): ExporterFacts;
  /** Called once per scope that sent options data in this datagram (its facts may have changed). */
  onOptions?(scope: TemplateScope): void;
  /**
   * The document of a record that must be written another way (drill marking); undefined = the plain one.
   * IPv4 elements may be numbers (`numericAddresses`): `textRecord(rec, layout)` gives the text record.
   */
  special?(rec: FlowRecord, opts: FlowJsonOptions, layout: RecordLayout): string | undefined;
  /** Largest run, in bytes; runs stay well under a batch so several datagrams share a message. */
  maxBytes: number;
  /** Where the runs' bytes go. */
  slab: RunWriter;
}

/**
 * Decoded records → runs of ECS JSON, one per version and byte limit. Pure apart from the callbacks: the
 * same code renders in the collector's main thread and in a decoding worker, so both give the same bytes.
 */
export function renderRuns(
  records: FlowRecord[],
  layouts: RecordLayout[],
  o: RenderOptions,
): { runs: RecordRun[]; perVersion: Array<[number, number]> } {
  const runs: RecordRun[] = [];
  const perVersion = new Map<number, number>();
  let parts: string[] = [];
  let chars = 0;
  let firstId = '';
  let version = records[0]?.version ?? 0;
  const flush = () => {
    if (parts.length === 0) return;
    runs.push({ version, firstId, count: parts.length, utf8: o.slab.put(parts.join(','), version) });
    // Counted per run (one version each), not per record.
    perVersion.set(version, (perVersion.get(version) ?? 0) + parts.length);
    parts = [];
    chars = 0;
  };
  const optionsSeen = new Set<string>();
  // A datagram's records share one or two scopes: the options object is built once per scope, not per
  // record; an options record (new facts) rebuilds it for the records after it.
  let lastScope: TemplateScope | undefined;
  const base: FlowJsonOptions = { receivedAt: o.receivedAt, unitJson: o.unitJson, unitJsonV4: o.unitJsonV4 };
  let lastOpts = base;
  for (let i = 0; i < records.length; i++) {
    const rec = records[i]!;
    let opts = base;
    if (rec.version !== 5) {
      if (
        rec.options ||
        !lastScope ||
        lastScope.version !== rec.version ||
        lastScope.domain !== rec.domain ||
        lastScope.exporter !== rec.exporter
      ) {
        const scope: TemplateScope = { exporter: rec.exporter, version: rec.version, domain: rec.domain };
        if (rec.options) {
          const k = `${rec.version}|${rec.domain}`;
          if (!optionsSeen.has(k)) {
            optionsSeen.add(k);
            o.onOptions?.(scope);
          }
        }
        lastScope = scope;
        lastOpts = { ...base, facts: o.factsOf(scope) };
      }
      opts = lastOpts;
    }
    const layout = layouts[i]!;
    const json = o.special?.(rec, opts, layout) ?? flowToEcsJson(rec, layout, opts);
    // Checked on characters (a lower bound of the bytes; exact for the ASCII documents flows give).
    if (parts.length > 0 && (chars + json.length + 1 > o.maxBytes || rec.version !== version)) flush();
    if (parts.length === 0) {
      firstId = flowRecordId(rec);
      version = rec.version;
    }
    parts.push(json);
    chars += json.length + 1;
  }
  flush();
  return { runs, perVersion: [...perVersion] };
}

/** Unit attributions remembered per address (JSON text, or null for none) before the cache starts over. */
const UNIT_CACHE_MAX = 65_536;

/** An address's `citysoc.*unit` JSON through `lookup`, remembered per key (JSON text, or null for none). */
function cachedUnitJson<K>(lookup: (ip: K) => unknown): (ip: K) => string | undefined {
  const cache = new Map<K, string | null>();
  return (ip) => {
    let j = cache.get(ip);
    if (j === undefined) {
      const u = lookup(ip);
      j = u ? JSON.stringify(u) : null;
      if (cache.size >= UNIT_CACHE_MAX) cache.clear();
      cache.set(ip, j);
    }
    return j ?? undefined;
  };
}

/**
 * `citysoc.*unit` JSON for an address, remembered (the registry walk costs more than the lookup); undefined
 * when the registry is empty, so the JSON writer skips units altogether.
 */
export function unitJsonFor(units: {
  size: number;
  lookup(ip: string): unknown;
}): ((ip: string) => string | undefined) | undefined {
  return units.size === 0 ? undefined : cachedUnitJson((ip: string) => units.lookup(ip));
}

/**
 * `unitJsonFor` keyed by an IPv4 address held as a uint32 (the decoder's `numericAddresses`): the registry
 * takes the number (`lookupV4`), no dotted quad is parsed back, and the cache probe hashes a number.
 */
export function unitJsonV4For(units: {
  size: number;
  lookupV4(ip: number): unknown;
}): ((ip: number) => string | undefined) | undefined {
  return units.size === 0 ? undefined : cachedUnitJson((ip: number) => units.lookupV4(ip));
}
