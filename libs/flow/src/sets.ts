import { decodeDataSet, type MessageHeader } from './records';
import type {
  CompiledTemplate,
  PendingSet,
  TemplateCache,
  TemplateDef,
  TemplateField,
  TemplateScope,
} from './templates';
import type { DecodeContext, DecodeResult, FlowError, FlowRecord, MessageInfo, RecordLayout } from './types';

/** Per-message state the v9 and IPFIX decoders share while walking sets. */
export interface SetWalk {
  buf: Buffer;
  cache: TemplateCache;
  scope: TemplateScope;
  header: MessageHeader;
  now: number;
  out: DecodeResult;
  info: MessageInfo;
}

/** What tells a v9 message from an IPFIX one once the header is read. */
export interface SetFormat {
  /** Template and options-template sets (ids below 256; the reserved ones are skipped by the callee). */
  templates(w: SetWalk, id: number, start: number, end: number): void;
  /** v9 only: a message glued after this one starts at `pos` (v9 headers carry no length). */
  nextMessage?(buf: Buffer, pos: number, end: number): boolean;
  /** A set whose length does not fit its message; the walk stops there. */
  badSet(w: SetWalk, id: number, len: number, pos: number, end: number): void;
}

/**
 * Walks the sets of one v9 or IPFIX message from `pos` (after its header) to `end`: template sets go to
 * `fmt`, data sets are decoded or held. Returns where a glued next message starts, or `end`.
 */
export function walkMessage(
  fmt: SetFormat,
  buf: Buffer,
  ctx: DecodeContext,
  cache: TemplateCache,
  messageIndex: number,
  version: 9 | 10,
  domain: number,
  sequence: number,
  exportTime: number,
  sysUptime: number,
  pos: number,
  end: number,
  out: DecodeResult,
): number {
  const header: MessageHeader = {
    version,
    exporter: ctx.exporter,
    domain,
    sequence,
    exportTime,
    sysUptime,
    messageIndex,
    sysInitMs: NaN,
  };
  const now = ctx.receivedAt.getTime();
  const info: MessageInfo = { version, domain, sequence, exportTime, records: 0, held: 0 };
  const w: SetWalk = {
    buf,
    cache,
    scope: { exporter: header.exporter, version, domain },
    header,
    now,
    out,
    info,
  };
  const known = cache.facts(w.scope).sysInitMs;
  if (known !== undefined) header.sysInitMs = known;
  let setIndex = 0;
  while (end - pos >= 4) {
    const id = buf.readUInt16BE(pos);
    const len = buf.readUInt16BE(pos + 2);
    if (fmt.nextMessage?.(buf, pos, end)) {
      out.messages.push(info);
      return pos;
    }
    if (len < 4 || pos + len > end) {
      fmt.badSet(w, id, len, pos, end);
      break;
    }
    if (id >= 256) dataSet(w, id, pos + 4, pos + len, setIndex);
    else fmt.templates(w, id, pos + 4, pos + len);
    pos += len;
    setIndex++;
  }
  out.messages.push(info);
  return end;
}

/** Decodes a data set, or holds it when its template has not been seen yet. */
export function dataSet(w: SetWalk, templateId: number, start: number, end: number, setIndex: number): void {
  const tpl = w.cache.get(w.scope, templateId);
  if (tpl) {
    const from = w.out.records.length;
    w.info.records += decodeDataSet(w.buf, start, end, tpl, w.header, setIndex, w.out);
    if (tpl.def.options) learnFacts(w, from);
    return;
  }
  const held = w.cache.hold(
    {
      scope: w.scope,
      templateId,
      data: Buffer.from(w.buf.subarray(start, end)),
      sequence: w.header.sequence,
      exportTime: w.header.exportTime,
      sysUptime: w.header.sysUptime,
      messageIndex: w.header.messageIndex,
      setIndex,
      heldAt: w.now,
    },
    w.now,
  );
  if (held) w.info.held++;
  else
    w.out.errors.push({
      code: 'template-missing',
      message: `no template ${templateId} for ${w.scope.exporter} domain ${w.scope.domain}; pending store full, set dropped`,
      offset: start,
      templateId,
    });
}

/** Stores a template and decodes the data that was waiting for it, with its own message's header facts. */
export function learnTemplate(w: SetWalk, def: TemplateDef): void {
  const tpl = w.cache.put(w.scope, def);
  decodeWaiting(w, tpl, w.cache.release(w.scope, def.templateId, w.now));
}

function decodeWaiting(w: SetWalk, tpl: CompiledTemplate, waiting: PendingSet[]): void {
  for (const s of waiting) {
    const h: MessageHeader = {
      ...w.header,
      sequence: s.sequence,
      exportTime: s.exportTime,
      sysUptime: s.sysUptime,
      messageIndex: s.messageIndex,
    };
    const from = w.out.records.length;
    decodeDataSet(s.data, 0, s.data.length, tpl, h, s.setIndex, w.out);
    if (tpl.def.options) learnFacts(w, from);
  }
}

/**
 * Decodes the data sets held for a template that became known outside a datagram (a shared store that
 * another collector replica wrote): the same records, with the same ids, as if the template had come in a
 * datagram. Returns nothing when the template is still unknown or nothing waited for it.
 */
export function releaseHeld(
  cache: TemplateCache,
  scope: TemplateScope,
  templateId: number,
  now: number,
): { records: FlowRecord[]; layouts: RecordLayout[]; errors: FlowError[] } {
  const out: DecodeResult = { records: [], layouts: [], errors: [], messages: [] };
  const tpl = cache.get(scope, templateId);
  if (!tpl || cache.stats.pendingSets === 0) return out;
  const waiting = cache.release(scope, templateId, now);
  if (waiting.length === 0) return out;
  const header: MessageHeader = {
    version: scope.version,
    exporter: scope.exporter,
    domain: scope.domain,
    sequence: 0,
    exportTime: 0,
    sysUptime: -1,
    messageIndex: 0,
    sysInitMs: cache.facts(scope).sysInitMs ?? NaN,
  };
  const info: MessageInfo = {
    version: scope.version,
    domain: scope.domain,
    sequence: 0,
    exportTime: 0,
    records: 0,
    held: 0,
  };
  decodeWaiting({ buf: Buffer.alloc(0), cache, scope, header, now, out, info }, tpl, waiting);
  return out;
}

/** Options data that later flow data of the same scope depends on (boot time, sampling rate). */
function learnFacts(w: SetWalk, from: number): void {
  const facts = w.cache.facts(w.scope);
  for (let i = from; i < w.out.records.length; i++) {
    const f = w.out.records[i]!.fields;
    const init = f['systemInitTimeMilliseconds'];
    if (typeof init === 'string') {
      const ms = Date.parse(init);
      if (!Number.isNaN(ms)) {
        facts.sysInitMs = ms;
        w.header.sysInitMs = ms;
      }
    }
    const ifIndex = f['ingressInterface'] ?? f['scopeInterface'] ?? f['egressInterface'];
    const ifName = f['interfaceName'] ?? f['interfaceDescription'];
    if (typeof ifIndex === 'number' && typeof ifName === 'string' && ifName !== '') {
      (facts.interfaces ??= {})[ifIndex] = ifName;
    }
    const rate = samplingRate(f);
    if (rate !== undefined) {
      facts.samplingRate = rate;
      const sampler = samplerOf(f);
      if (sampler !== undefined) (facts.samplers ??= {})[sampler] = rate;
    }
  }
}

/** 1-in-N from whichever sampling elements a record carries; undefined when it carries none. */
export function samplingRate(f: Record<string, unknown>): number | undefined {
  const population = f['samplingPopulation'];
  const size = f['samplingSize'];
  if (typeof population === 'number' && typeof size === 'number' && size > 0 && population > size) {
    return population / size;
  }
  const interval = f['samplingInterval'] ?? f['samplerRandomInterval'];
  if (typeof interval === 'number' && interval > 1) return interval;
  const every = f['samplingPacketInterval'];
  const space = f['samplingPacketSpace'];
  if (typeof every === 'number' && every > 0 && typeof space === 'number') return (every + space) / every;
  return undefined;
}

export function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The sampler a record names (options data announcing it, or flow data using it). */
export function samplerOf(f: Record<string, unknown>): number | undefined {
  const id = f['selectorId'] ?? f['samplerId'];
  return typeof id === 'number' ? id : undefined;
}

/**
 * Reads `count` field specifiers (type, length; with `enterprise`, IPFIX's enterprise bit and PEN) from
 * `p` into `out`. Returns the offset after them, or -1 when they overrun `end`. Shared by v9 templates,
 * v9 options templates (scope and option fields) and IPFIX (options) templates.
 */
export function readFieldSpecs(
  buf: Buffer,
  p: number,
  end: number,
  count: number,
  enterprise: boolean,
  scope: boolean,
  out: TemplateField[],
): number {
  for (let i = 0; i < count; i++) {
    if (end - p < 4) return -1;
    const raw = buf.readUInt16BE(p);
    const length = buf.readUInt16BE(p + 2);
    p += 4;
    let pen = 0;
    if (enterprise && raw & 0x8000) {
      if (end - p < 4) return -1;
      pen = buf.readUInt32BE(p);
      p += 4;
    }
    const f: TemplateField = { id: enterprise ? raw & 0x7fff : raw, pen, length };
    if (scope) f.scope = true;
    out.push(f);
  }
  return p;
}
