import { Kind } from './elements/registry';
import { Role, VARIABLE_LENGTH, type CompiledTemplate } from './templates';
import type { DecodeResult, FlowRecord, FlowValue, FlowVersion, RecordLayout, RecordReader } from './types';
import {
  acl,
  auto,
  hex,
  int,
  ipv4,
  ipv4Text,
  ipv6,
  isoTime,
  mac,
  macNum,
  macText,
  ntpMs,
  text,
  u32,
  uint,
} from './values';

/**
 * IPv4 elements as uint32 numbers and MACs as 48-bit numbers (`DecodeContext.numericAddresses`): set by `decodeDatagram` for the
 * datagram it decodes and cleared after it, so held sets released elsewhere (`releaseHeld`) stay text.
 */
let numericAddresses = false;

export function setNumericAddresses(on: boolean): void {
  numericAddresses = on;
}

export function addressesAreNumeric(): boolean {
  return numericAddresses;
}

/**
 * The fields of `rec` with every IPv4 or MAC element held as a number (`numericAddresses`) as its text:
 * the record as text-mode decoding gives it. `fields` itself when there is nothing to convert.
 */
export function textFields(rec: FlowRecord, layout: RecordLayout): Record<string, FlowValue> {
  const f = rec.fields;
  const { names, kinds } = layout;
  let out: Record<string, FlowValue> | undefined;
  for (let i = 0; i < names.length; i++) {
    const kind = kinds[i] as Kind;
    if (kind !== Kind.Ip4 && kind !== Kind.Mac) continue;
    const v = f[names[i]!];
    if (typeof v !== 'number') continue;
    out ??= { ...f };
    out[names[i]!] = kind === Kind.Ip4 ? ipv4Text(v) : macText(v);
  }
  return out ?? f;
}

/** `rec` with `textFields`: the record to hand to code that reads addresses as text (`flowToEcs`). */
export function textRecord(rec: FlowRecord, layout: RecordLayout): FlowRecord {
  const fields = textFields(rec, layout);
  return fields === rec.fields ? rec : { ...rec, fields };
}

/** Header facts every record of a message shares. */
export interface MessageHeader {
  version: FlowVersion;
  exporter: string;
  domain: number;
  sequence: number;
  exportTime: number;
  /** v9: header sysUptime (ms); -1 where the version has none. */
  sysUptime: number;
  messageIndex: number;
  /** Exporter boot time from earlier options data (epoch ms), NaN when unknown. */
  sysInitMs: number;
}

// Time facts of the record being read. Module-level scratch instead of a per-record object: the record
// loop is the hot path and these are consumed before the next record starts.
let tStart = NaN;
let tEnd = NaN;
let tStartUp = NaN;
let tEndUp = NaN;
let tStartDelta = NaN;
let tEndDelta = NaN;
let tSysInit = NaN;
let tDuration = NaN;

export function readValue(
  buf: Buffer,
  p: number,
  len: number,
  kind: Kind,
  role: Role,
): FlowValue | undefined {
  let ms: number;
  switch (kind) {
    case Kind.Uint: {
      const v = len <= 8 ? uint(buf, p, len) : undefined;
      if (v === undefined) return hex(buf, p, len);
      if (role !== Role.None) noteRole(role, v);
      return v;
    }
    case Kind.Int:
      return len <= 8 && len > 0 ? int(buf, p, len) : hex(buf, p, len);
    case Kind.Float:
      return len === 4 ? buf.readFloatBE(p) : len === 8 ? buf.readDoubleBE(p) : hex(buf, p, len);
    case Kind.Bool:
      // RFC 7011 §6.1.5: 1 = true, 2 = false.
      return len === 1 ? buf[p] === 1 : hex(buf, p, len);
    case Kind.Mac:
      return len === 6 ? mac(buf, p) : hex(buf, p, len);
    case Kind.Octets:
      return hex(buf, p, len);
    case Kind.String:
      return text(buf, p, len);
    case Kind.Ip4:
      return len === 4 ? ipv4(buf, p) : hex(buf, p, len);
    case Kind.Ip6:
      return len === 16 ? ipv6(buf, p) : hex(buf, p, len);
    case Kind.TimeSec:
      if (len > 8) return hex(buf, p, len);
      ms = uint(buf, p, len) * 1000;
      break;
    case Kind.TimeMs:
      if (len > 8) return hex(buf, p, len);
      ms = uint(buf, p, len);
      break;
    case Kind.TimeUs:
    case Kind.TimeNs:
      if (len !== 8) return len <= 8 ? uint(buf, p, len) : hex(buf, p, len);
      ms = ntpMs(buf, p);
      break;
    case Kind.Acl:
      return acl(buf, p, len);
    case Kind.Skip:
      return undefined;
    case Kind.Auto:
      return auto(buf, p, len);
    default:
      return hex(buf, p, len);
  }
  if (role !== Role.None) noteRole(role, ms);
  return isoTime(ms);
}

export function noteRole(role: Role, v: number): void {
  switch (role) {
    case Role.Start:
      tStart = v;
      break;
    case Role.End:
      tEnd = v;
      break;
    case Role.StartUptime:
      tStartUp = v;
      break;
    case Role.EndUptime:
      tEndUp = v;
      break;
    case Role.StartDeltaUs:
      tStartDelta = v;
      break;
    case Role.EndDeltaUs:
      tEndDelta = v;
      break;
    case Role.SysInit:
      tSysInit = v;
      break;
    case Role.DurationMs:
      tDuration = v;
      break;
    case Role.None:
      break;
  }
}

/**
 * Wall-clock start/end from whatever the template carried: absolute times, or uptime offsets (v9: from the
 * header's unix time minus sysUptime; IPFIX: from systemInitTimeMilliseconds in the same record), or
 * microsecond deltas before export time, completed by a duration when only one end is known.
 */
/**
 * A v5/v9 switched time (ms of router uptime, a 32-bit counter) as wall-clock ms. The uptime wraps every
 * 49.7 days and some exporters send a flow start just before boot as 0xffffffff, so the age of the flow is
 * taken modulo 2^32, and a "future" value of less than 2^31 ms is read as slightly after the header time.
 */
export function uptimeToMs(exportTime: number, sysUptime: number, t: number): number {
  const age = (sysUptime - t) | 0;
  return exportTime - age;
}

let rStart: number | undefined;
let rEnd: number | undefined;

function finishTimes(h: MessageHeader): void {
  let start = tStart;
  let end = tEnd;
  if (Number.isNaN(start) || Number.isNaN(end)) {
    if (h.sysUptime >= 0 && Number.isNaN(tSysInit)) {
      if (Number.isNaN(start) && !Number.isNaN(tStartUp))
        start = uptimeToMs(h.exportTime, h.sysUptime, tStartUp);
      if (Number.isNaN(end) && !Number.isNaN(tEndUp)) end = uptimeToMs(h.exportTime, h.sysUptime, tEndUp);
    } else {
      const base = !Number.isNaN(tSysInit) ? tSysInit : h.sysInitMs;
      if (Number.isNaN(start) && !Number.isNaN(tStartUp)) start = base + tStartUp;
      if (Number.isNaN(end) && !Number.isNaN(tEndUp)) end = base + tEndUp;
    }
    if (Number.isNaN(start) && !Number.isNaN(tStartDelta))
      start = h.exportTime - Math.floor(tStartDelta / 1000);
    if (Number.isNaN(end) && !Number.isNaN(tEndDelta)) end = h.exportTime - Math.floor(tEndDelta / 1000);
    if (!Number.isNaN(tDuration)) {
      if (Number.isNaN(end) && !Number.isNaN(start)) end = start + tDuration;
      else if (Number.isNaN(start) && !Number.isNaN(end)) start = end - tDuration;
    }
  }
  rStart = Number.isNaN(start) ? undefined : start;
  rEnd = Number.isNaN(end) ? undefined : end;
}

/**
 * Decodes the data records of one set with a compiled template. Stops at the first record that would run
 * past the set (reported) or when what is left is shorter than the shortest record (padding).
 * Returns the number of records decoded.
 */
export function decodeDataSet(
  buf: Buffer,
  start: number,
  end: number,
  tpl: CompiledTemplate,
  h: MessageHeader,
  setIndex: number,
  out: DecodeResult,
): number {
  const { minLength } = tpl;
  const options = tpl.def.options;
  const templateId = tpl.def.templateId;
  let pos = start;
  let idx = 0;
  const read = numericAddresses ? (tpl.readNum ??= readerFor(tpl, true)) : (tpl.read ??= readerFor(tpl));
  while (pos < end && end - pos >= minLength) {
    tStart = tEnd = tStartUp = tEndUp = tStartDelta = tEndDelta = tSysInit = tDuration = NaN;
    const fields = read(buf, pos, end, readState);
    if (fields === undefined) {
      out.errors.push({
        code: 'record-overrun',
        message: `record ${idx} of template ${templateId} runs past the end of its set`,
        offset: pos,
        templateId,
      });
      break;
    }
    const p = readState.p;
    // A template made only of zero-length fields would otherwise loop forever on the same offset.
    if (p === pos) break;
    finishTimes(h);
    out.layouts.push(tpl);
    out.records.push({
      version: h.version,
      exporter: h.exporter,
      domain: h.domain,
      templateId,
      options,
      sequence: h.sequence,
      exportTime: h.exportTime,
      messageIndex: h.messageIndex,
      setIndex,
      recordIndex: idx,
      start: rStart,
      end: rEnd,
      fields,
    });
    pos = p;
    idx++;
  }
  return idx;
}

const readState = { p: 0 };

/** Helpers the generated readers call (passed in: generated code sees no module scope). */
const HELPERS = { readValue, noteRole, uint, ipv4, hex, macNum };

/** Readers by layout: templates of the same shape (every exporter of one model) share one function. */
const READERS = new Map<string, RecordReader>();
const READERS_MAX = 4096;

/**
 * The record reader of a template: generated once per layout and cached. The record loop used to fill an
 * object key by key through a per-field switch, which made the fields object the costliest part of
 * decoding (a hidden-class transition per key). The generated function reads each field by its known kind
 * and length (integers straight from the buffer), checks bounds once per run of fixed-length fields and
 * returns the fields as one object literal, so every record of a layout gets the same shape at once.
 * Only element names from the registry reach the source, as JSON string literals.
 */
export function readerFor(tpl: CompiledTemplate, numeric = false): RecordReader {
  const { names, kinds, lengths, roles } = tpl;
  const key = `${numeric ? 'n' : 't'}|${names.join('\u0000')}|${lengths.join(',')}|${kinds.join(',')}|${roles.join(',')}`;
  let r = READERS.get(key);
  if (r) return r;
  r = names.includes('__proto__') ? genericReader(tpl, numeric) : generateReader(tpl, numeric);
  if (READERS.size >= READERS_MAX) READERS.clear();
  READERS.set(key, r);
  return r;
}

function generateReader(tpl: CompiledTemplate, numeric: boolean): RecordReader {
  const { names, kinds, lengths, roles } = tpl;
  const n = names.length;
  const body: string[] = [];
  const props: string[] = [];
  const vars: string[] = ['l'];
  for (let i = 0; i < n;) {
    if (lengths[i] !== VARIABLE_LENGTH) {
      // A run of fixed-length fields: one bounds check for all of them.
      let run = 0;
      let j = i;
      while (j < n && lengths[j] !== VARIABLE_LENGTH) run += lengths[j++]!;
      if (run > 0) body.push(`if (end - p < ${run}) return undefined;`);
      for (; i < j; i++) {
        const len = lengths[i]!;
        fieldCode(names[i]!, i, kinds[i]!, roles[i]!, len, String(len), numeric, body, props, vars);
        if (len > 0) body.push(`p += ${len};`);
      }
      continue;
    }
    body.push(
      'if (p >= end) return undefined;',
      'l = buf[p++];',
      'if (l === 255) { if (p + 2 > end) return undefined; l = (buf[p] << 8) | buf[p + 1]; p += 2; }',
      'if (p + l > end) return undefined;',
    );
    fieldCode(names[i]!, i, kinds[i]!, roles[i]!, -1, 'l', numeric, body, props, vars);
    body.push('p += l;');
    i++;
  }
  const src =
    `"use strict";\nconst { readValue, noteRole, uint, ipv4, hex, macNum } = H;\n` +
    `return function readRecord(buf, p, end, st) {\n  let ${vars.join(', ')};\n  ${body.join('\n  ')}\n` +
    `  st.p = p;\n  return { ${props.join(', ')} };\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source is built from registry names (JSON-quoted) and numbers only
  return new Function('H', src)(HELPERS) as RecordReader;
}

/**
 * Appends the code reading field `i` (length `len`, -1 when variable, held in `lenExpr`) to `body` and its
 * property to `props`; a skipped element (zero length, padding) is read past and kept out of the record.
 */
function fieldCode(
  name: string,
  i: number,
  kind: Kind,
  role: Role,
  len: number,
  lenExpr: string,
  numeric: boolean,
  body: string[],
  props: string[],
  vars: string[],
): void {
  if (kind === Kind.Skip) return;
  const v = `v${i}`;
  vars.push(v);
  props.push(`${JSON.stringify(name)}: ${v}`);
  let expr: string;
  if (kind === Kind.Uint && len === 1) expr = 'buf[p]';
  else if (kind === Kind.Uint && len === 2) expr = '(buf[p] << 8) | buf[p + 1]';
  else if ((kind === Kind.Uint || (numeric && kind === Kind.Ip4)) && len === 4)
    expr = 'buf[p] * 16777216 + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3])';
  else if (kind === Kind.Uint && len > 0 && len <= 8) expr = `uint(buf, p, ${len})`;
  else if (kind === Kind.Ip4 && len === 4) expr = 'ipv4(buf, p)';
  else if (numeric && kind === Kind.Mac && len === 6) expr = 'macNum(buf, p)';
  else if (kind === Kind.Octets) expr = `hex(buf, p, ${lenExpr})`;
  else {
    body.push(`${v} = readValue(buf, p, ${lenExpr}, ${kind}, ${role});`);
    return;
  }
  body.push(`${v} = ${expr};`);
  if (role !== Role.None) body.push(`noteRole(${role}, ${v});`);
}

/** The field-by-field reader, for layouts a generated object literal cannot express. */
function genericReader(tpl: CompiledTemplate, numeric: boolean): RecordReader {
  const { names, kinds, lengths, roles } = tpl;
  const n = names.length;
  return (buf, p, end, st) => {
    const fields: Record<string, FlowValue> = Object.create(null) as Record<string, FlowValue>;
    for (let i = 0; i < n; i++) {
      let len = lengths[i]!;
      if (len === VARIABLE_LENGTH) {
        if (p >= end) return undefined;
        len = buf[p++]!;
        if (len === 255) {
          if (p + 2 > end) return undefined;
          len = buf.readUInt16BE(p);
          p += 2;
        }
      }
      if (p + len > end) return undefined;
      const kind = kinds[i]! as Kind;
      const v = !numeric
        ? readValue(buf, p, len, kind, roles[i]!)
        : kind === Kind.Ip4 && len === 4
          ? u32(buf, p)
          : kind === Kind.Mac && len === 6
            ? macNum(buf, p)
            : readValue(buf, p, len, kind, roles[i]!);
      if (v !== undefined) fields[names[i]!] = v;
      p += len;
    }
    st.p = p;
    return fields;
  };
}
