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

/** Bytes of a fresh slab; a run that does not fit starts a slab of its own size. */
const SLAB_BYTES = 1 << 20;

/**
 * Where runs are written as UTF-8: big buffers handed out as views, so a record's JSON is encoded once,
 * straight into the bytes the batcher copies into a message — no join of a datagram's strings, no
 * re-encoding of a whole batch. A slab is never written twice: a full one is left to the views still
 * holding it (the batcher's items, a worker's reply) and freed with them. Slabs are not pooled (an own
 * ArrayBuffer each), so a worker can transfer them rather than copy.
 */
export class ByteSlab {
  private buf: Buffer;
  private off = 0;
  /** The buffers written since `takeBuffers` (a worker transfers them with its reply). */
  private used: ArrayBuffer[] = [];

  constructor(private readonly size = SLAB_BYTES) {
    this.buf = this.fresh(size);
  }

  /** Offset in the current buffer where the next run starts. */
  begin(): number {
    return this.off;
  }

  /**
   * Appends `json` (with a comma before it unless it opens the run started at `start`); returns the run's
   * start, which moves when the run had to be carried over to a new buffer.
   */
  append(start: number, json: string): number {
    const comma = this.off > start ? 1 : 0;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const worst = json.length * 3 + comma;
    if (this.off + worst > this.buf.length) {
      const run = this.buf.subarray(start, this.off);
      const next = this.fresh(Math.max(this.size, run.length + worst));
      run.copy(next, 0);
      this.buf = next;
      this.off = run.length;
      start = 0;
    }
    if (comma === 1) this.buf[this.off++] = 0x2c;
    this.off += this.buf.write(json, this.off);
    return start;
  }

  /** The run written since `start`. */
  end(start: number): Uint8Array {
    return this.buf.subarray(start, this.off);
  }

  /** The buffers written so far (the current one included), for a transfer list; starts a new buffer. */
  takeBuffers(): ArrayBuffer[] {
    const out = this.used;
    this.used = [];
    this.buf = this.fresh(this.size);
    this.off = 0;
    return out;
  }

  private fresh(size: number): Buffer {
    const b = Buffer.allocUnsafeSlow(size);
    this.used.push(b.buffer);
    return b;
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
  /** The facts of a scope (sampling rate, interface names) the ECS mapping reads. */
  factsOf(scope: TemplateScope): ExporterFacts;
  /** Called once per scope that sent options data in this datagram (its facts may have changed). */
  onOptions?(scope: TemplateScope): void;
  /** The document of a record that must be written another way (drill marking); undefined = the plain one. */
  special?(rec: FlowRecord, opts: FlowJsonOptions): string | undefined;
  /** Largest run, in bytes; runs stay well under a batch so several datagrams share a message. */
  maxBytes: number;
  /** Where the runs' bytes go. */
  slab: ByteSlab;
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
  const slab = o.slab;
  let count = 0;
  let start = 0;
  let bytes = 0;
  let firstId = '';
  let version = records[0]?.version ?? 0;
  const flush = () => {
    if (count === 0) return;
    runs.push({ version, firstId, count, utf8: slab.end(start) });
    count = 0;
    bytes = 0;
  };
  const optionsSeen = new Set<string>();
  // A datagram's records share one or two scopes: the options object is built once per scope, not per
  // record; an options record (new facts) rebuilds it for the records after it.
  let lastScope: TemplateScope | undefined;
  const base: FlowJsonOptions = { receivedAt: o.receivedAt, unitJson: o.unitJson };
  let lastOpts = base;
  const perVersion = new Map<number, number>();
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
    const json = o.special?.(rec, opts) ?? flowToEcsJson(rec, layouts[i]!, opts);
    // The next record checked on characters (a lower bound of its bytes; exact for ASCII documents).
    if (count > 0 && (bytes + json.length + 1 > o.maxBytes || rec.version !== version)) flush();
    if (count === 0) {
      firstId = flowRecordId(rec);
      version = rec.version;
      start = slab.begin();
    }
    start = slab.append(start, json);
    bytes = slab.begin() - start;
    count++;
    perVersion.set(rec.version, (perVersion.get(rec.version) ?? 0) + 1);
  }
  flush();
  return { runs, perVersion: [...perVersion] };
}

/** Unit attributions remembered per address (JSON text, or null for none) before the cache starts over. */
const UNIT_CACHE_MAX = 65_536;

/**
 * `citysoc.*unit` JSON for an address, remembered (the registry walk costs more than the lookup); undefined
 * when the registry is empty, so the JSON writer skips units altogether.
 */
export function unitJsonFor(units: {
  size: number;
  lookup(ip: string): unknown;
}): ((ip: string) => string | undefined) | undefined {
  if (units.size === 0) return undefined;
  const cache = new Map<string, string | null>();
  return (ip) => {
    let j = cache.get(ip);
    if (j === undefined) {
      const u = units.lookup(ip);
      j = u ? JSON.stringify(u) : null;
      if (cache.size >= UNIT_CACHE_MAX) cache.clear();
      cache.set(ip, j);
    }
    return j ?? undefined;
  };
}
