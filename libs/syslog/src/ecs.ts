import { type EcsEvent, type EcsSyslog, facilityName, syslogSeverityName } from '@citysoc/ecs';
import { type ParseContext, type SyslogFields } from './types';

/** `::ffff:1.2.3.4` is how a dual-stack socket reports an IPv4 peer; ECS wants the IPv4 form. */
export function normalizeIp(ip: string): string {
  if (
    ip.length > 7 &&
    ip.charCodeAt(0) === 0x3a &&
    ip.indexOf('.') > 0 &&
    ip.slice(0, 7).toLowerCase() === '::ffff:'
  ) {
    return ip.slice(7);
  }
  return ip;
}

export function sourceAddress(ip: string, port: number | undefined): string {
  if (port === undefined) return ip;
  return ip.indexOf(':') >= 0 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

// Formatting dates dominates the cost of building an event; lines of one batch share the receive time and
// mostly the same second, so both are memoized.
// Two slots, because a payload decoder's own clock (FortiGate date=, PAN-OS generated time) differs from the
// header's, and alternating between them must not defeat the memo.
let isoSecond0 = NaN;
let isoPrefix0 = '';
let isoSecond1 = NaN;
let isoPrefix1 = '';
let isoNext = 0;
let createdMs = NaN;
let createdIso = '';

/** `Date#toISOString()` output, computed once per distinct second. */
export function isoString(ms: number): string {
  const second = Math.floor(ms / 1000);
  let prefix: string;
  if (second === isoSecond0) prefix = isoPrefix0;
  else if (second === isoSecond1) prefix = isoPrefix1;
  else {
    const full = new Date(ms).toISOString();
    // Only the common `YYYY-MM-DDTHH:MM:SS.mmmZ` shape is memoized; extended years are formatted each time.
    if (full.length !== 24) return full;
    prefix = full.slice(0, 20);
    if (isoNext === 0) {
      isoSecond0 = second;
      isoPrefix0 = prefix;
    } else {
      isoSecond1 = second;
      isoPrefix1 = prefix;
    }
    isoNext ^= 1;
  }
  const frac = ms - second * 1000;
  return prefix + (frac < 10 ? `00${frac}` : frac < 100 ? `0${frac}` : `${frac}`) + 'Z';
}

function createdString(d: Date): string {
  const ms = d.getTime();
  if (ms !== createdMs) {
    createdMs = ms;
    createdIso = d.toISOString();
  }
  return createdIso;
}

function numericPid(procid: string | undefined): number | undefined {
  if (procid === undefined || procid.length === 0 || procid.length > 15) return undefined;
  for (let i = 0; i < procid.length; i++) {
    const c = procid.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(procid);
}

/** Maps a parsed envelope to the ECS document every later stage reads. */
export function toEcs(f: SyslogFields, original: string, ctx: ParseContext): EcsEvent {
  const facility = f.priority >> 3;
  const severity = f.priority & 7;
  const severityName = syslogSeverityName(severity);
  const created = createdString(ctx.receivedAt);
  const ip = normalizeIp(ctx.senderIp);

  const syslog: EcsSyslog = {
    priority: f.priority,
    facility: { code: facility, name: facilityName(facility) },
    severity: { code: severity, name: severityName },
  };
  if (f.hostname !== undefined) syslog.hostname = f.hostname;
  if (f.appname !== undefined) syslog.appname = f.appname;
  if (f.procid !== undefined) syslog.procid = f.procid;
  if (f.msgid !== undefined) syslog.msgid = f.msgid;
  if (f.version !== undefined) syslog.version = String(f.version);
  if (f.structuredData !== undefined) syslog.structured_data = f.structuredData;

  const event: EcsEvent = {
    '@timestamp': f.timestampMs === undefined ? created : isoString(f.timestampMs),
    event: {
      id: ctx.eventId,
      created,
      original,
      kind: 'event',
      dataset: 'syslog',
      module: 'syslog',
    },
    log: { level: severityName, syslog, source: { address: sourceAddress(ip, ctx.senderPort) } },
    source: ctx.senderPort === undefined ? { ip } : { ip, port: ctx.senderPort },
    citysoc: { input: { name: ctx.inputName, transport: ctx.transport }, parser: f.parser },
  };
  if (f.timezone !== undefined) event.event.timezone = f.timezone;
  if (f.message.length > 0) event.message = f.message;
  if (f.hostname !== undefined) event.host = { hostname: f.hostname };
  if (f.appname !== undefined) {
    const pid = numericPid(f.procid);
    event.process = pid === undefined ? { name: f.appname } : { name: f.appname, pid };
  } else {
    const pid = numericPid(f.procid);
    if (pid !== undefined) event.process = { pid };
  }
  return event;
}
