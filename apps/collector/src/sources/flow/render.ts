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
  json: string;
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
  /** Largest run, in characters; runs stay well under a batch so several datagrams share a message. */
  maxChars: number;
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
  let parts: string[] = [];
  let chars = 0;
  let firstId = '';
  let version = records[0]?.version ?? 0;
  const flush = () => {
    if (parts.length === 0) return;
    runs.push({ version, firstId, count: parts.length, json: parts.join(',') });
    parts = [];
    chars = 0;
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
    if (parts.length > 0 && (chars + json.length + 1 > o.maxChars || rec.version !== version)) flush();
    if (parts.length === 0) {
      firstId = flowRecordId(rec);
      version = rec.version;
    }
    parts.push(json);
    chars += json.length + 1;
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
