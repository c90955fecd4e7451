import { type EcsEvent } from '@citysoc/ecs';
import { lastStamp, readTimestampAt } from '../rfc3164';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import {
  addRelatedHost,
  addRelatedUser,
  claimEndpoints,
  ecsMac,
  endpoint,
  indexWithin,
  setAddr,
  setNat,
  setTimestamp,
  toInt,
  toPort,
} from './util';

/**
 * ArcSight CEF `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|k=v …`, mapped as Elastic's cef
 * integration (decode_cef + its pipeline) does: header → observer.* / event.code / message /
 * event.severity, extension keys (short or full names) → source.*, destination.* (incl. NAT), event.*.
 */

/** Full CEF dictionary names → the short keys the mapping below uses. */
const FULL: Record<string, string> = {
  sourceAddress: 'src',
  destinationAddress: 'dst',
  sourcePort: 'spt',
  destinationPort: 'dpt',
  sourceMacAddress: 'smac',
  destinationMacAddress: 'dmac',
  sourceHostName: 'shost',
  destinationHostName: 'dhost',
  sourceUserName: 'suser',
  destinationUserName: 'duser',
  sourceUserId: 'suid',
  destinationUserId: 'duid',
  transportProtocol: 'proto',
  applicationProtocol: 'app',
  deviceAction: 'act',
  eventOutcome: 'outcome',
  bytesIn: 'in',
  bytesOut: 'out',
  deviceReceiptTime: 'rt',
  startTime: 'start',
  endTime: 'end',
  deviceDirection: 'deviceDirection',
  deviceAddress: 'dvc',
  deviceHostName: 'dvchost',
  message: 'msg',
  sourceProcessName: 'sproc',
  destinationProcessName: 'dproc',
  sourceProcessId: 'spid',
  destinationProcessId: 'dpid',
  fileName: 'fname',
  requestUrl: 'request',
  deviceExternalId: 'deviceExternalId',
};

/** Header field i (0-based after `CEF:`), unescaping `\|` and `\\`; returns the index after the `|`. */
function headerFields(s: string, start: number, count: number, out: string[]): number {
  let i = start;
  let cur = '';
  let seg = i;
  while (i < s.length && out.length < count) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && i + 1 < s.length) {
      cur += s.slice(seg, i);
      cur += s[i + 1];
      i += 2;
      seg = i;
      continue;
    }
    if (c === 0x7c) {
      out.push(cur + s.slice(seg, i));
      cur = '';
      i++;
      seg = i;
      continue;
    }
    i++;
  }
  if (out.length < count) {
    out.push(cur + s.slice(seg, i));
    return s.length;
  }
  return i;
}

function unescapeValue(v: string): string {
  if (v.indexOf('\\') < 0) return v;
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

// A key follows a space; `\=` inside a value cannot match because `\` is not a key character.
const KEY = /(?:^| )([A-Za-z0-9_.[\]]+)=/g;

/** Extension `k=v k2=v with spaces`: a value runs to the space before the next `key=`. */
export function parseCefExtension(s: string, start: number): Record<string, string> {
  const ext = s.slice(start);
  const out: Record<string, string> = {};
  KEY.lastIndex = 0;
  let key: string | undefined;
  let valueStart = 0;
  for (let m = KEY.exec(ext); m !== null; m = KEY.exec(ext)) {
    if (key !== undefined) out[key] = unescapeValue(ext.slice(valueStart, m.index));
    key = m[1]!;
    valueStart = m.index + m[0].length;
  }
  if (key !== undefined) out[key] = unescapeValue(ext.slice(valueStart).trimEnd());
  return out;
}

const SEVERITY_WORD: Record<string, number> = {
  low: 3,
  medium: 6,
  high: 8,
  'very-high': 10,
  veryhigh: 10,
  unknown: 0,
};

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  const at = indexWithin(s, 'CEF:', 128);
  if (at < 0 || (at > 0 && s.charCodeAt(at - 1) !== 0x20)) return false;
  const h: string[] = [];
  const extStart = headerFields(s, at + 4, 7, h);
  if (h.length < 7) return false;
  const [version, vendor, product, devVersion, sigId, name, severity] = h as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const raw = parseCefExtension(s, extStart);
  const x: Record<string, string> = {};
  for (const k in raw) x[FULL[k] ?? k] = raw[k]!;

  claimEndpoints(event);
  // `host CEF:0|…` made the envelope take the format name for a program TAG.
  if (fields.appname === 'CEF') event.process = undefined;
  event.observer = {
    ...event.observer,
    vendor,
    product,
    ...(devVersion !== '' ? { version: devVersion } : {}),
  };
  event.event.code = sigId;
  event.event.kind = 'event';
  if (name !== '') event.message = name;
  const sevNum = toInt(severity) ?? SEVERITY_WORD[severity.toLowerCase()];
  if (sevNum !== undefined) event.event.severity = sevNum;
  (event as Record<string, unknown>).cef = {
    version,
    device: { vendor, product, version: devVersion, event_class_id: sigId },
    name,
    severity,
    extensions: raw,
  };

  setAddr(event, 'source', x.src, toPort(x.spt));
  setAddr(event, 'destination', x.dst, toPort(x.dpt));
  if (event.source === undefined && x.spt !== undefined) endpoint(event, 'source').port = toPort(x.spt);
  if (event.destination === undefined && x.dpt !== undefined)
    endpoint(event, 'destination').port = toPort(x.dpt);
  setNat(event, 'source', x.sourceTranslatedAddress, toPort(x.sourceTranslatedPort));
  setNat(event, 'destination', x.destinationTranslatedAddress, toPort(x.destinationTranslatedPort));
  side(event, 'source', x.smac, x.shost, x.suser, x.in);
  side(event, 'destination', x.dmac, x.dhost, x.duser, x.out);
  if (x.suid !== undefined)
    endpoint(event, 'source').user = { ...endpoint(event, 'source').user, id: x.suid } as { name?: string };
  if (x.duid !== undefined)
    endpoint(event, 'destination').user = { ...endpoint(event, 'destination').user, id: x.duid } as {
      name?: string;
    };
  if (x.proto !== undefined) event.network = { ...event.network, transport: x.proto.toLowerCase() };
  if (x.app !== undefined) event.network = { ...event.network, protocol: x.app.toLowerCase() };
  const dir = x.deviceDirection;
  if (dir === '0' || dir === '1')
    event.network = { ...event.network, direction: dir === '0' ? 'inbound' : 'outbound' };
  if (x.act !== undefined) event.event.action = x.act;
  if (x.outcome !== undefined) {
    const o = x.outcome.toLowerCase();
    event.event.outcome = o.startsWith('succ') ? 'success' : o.startsWith('fail') ? 'failure' : 'unknown';
  }
  if (x.msg !== undefined) event.message = x.msg;
  if (x.reason !== undefined) (event.event as Record<string, unknown>).reason = x.reason;
  if (x.dvc !== undefined) event.observer = { ...event.observer, ip: [x.dvc] };
  if (x.dvchost !== undefined) {
    event.observer = { ...event.observer, hostname: x.dvchost };
    addRelatedHost(event, x.dvchost);
  }
  const proc = x.dproc ?? x.sproc;
  const pid = toInt(x.dpid ?? x.spid);
  if (proc !== undefined || pid !== undefined)
    event.process = { ...(proc !== undefined ? { name: proc } : {}), ...(pid !== undefined ? { pid } : {}) };
  if (x.request !== undefined) (event as Record<string, unknown>).url = { original: x.request };
  if (x.fname !== undefined) (event as Record<string, unknown>).file = { name: x.fname };
  if (x.requestMethod !== undefined)
    (event as Record<string, unknown>).http = { request: { method: x.requestMethod } };
  if (x.sourceServiceName !== undefined)
    (endpoint(event, 'source') as Record<string, unknown>).service = { name: x.sourceServiceName };
  const ts = time(x.rt ?? x.end, ctx);
  if (ts !== undefined) setTimestamp(event, ts);
  return true;
}

function side(
  event: EcsEvent,
  which: 'source' | 'destination',
  mac: string | undefined,
  host: string | undefined,
  user: string | undefined,
  bytes: string | undefined,
): void {
  const m = ecsMac(mac);
  if (m !== undefined) endpoint(event, which).mac = m;
  if (host !== undefined && host !== '') {
    endpoint(event, which).domain = host;
    addRelatedHost(event, host);
  }
  if (user !== undefined && user !== '') {
    endpoint(event, which).user = { name: user };
    addRelatedUser(event, user);
    if (which === 'source' || event.user === undefined) event.user = { ...event.user, name: user };
  }
  const b = toInt(bytes);
  if (b !== undefined) endpoint(event, which).bytes = b;
}

/** CEF timestamps: epoch milliseconds, `MMM dd [yyyy] HH:mm:ss[.SSS][ zone]`, or ISO 8601. */
function time(v: string | undefined, ctx: DecodeContext): number | undefined {
  if (v === undefined || v.length === 0) return undefined;
  if (/^\d{10,13}$/.test(v)) return v.length === 13 ? Number(v) : Number(v) * 1000;
  if (readTimestampAt(v, 0, ctx.timeZone, ctx.receivedMs) >= 0) return lastStamp.ms;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

export const cefDecoder: SyslogDecoder = { name: 'cef', decode };
