import { type EcsEvent } from '@citysoc/ecs';
import { localToUtcMs } from '../time';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import {
  addRelatedHost,
  addRelatedUser,
  categorize,
  claimEndpoints,
  endpoint,
  isIp,
  observer,
  setAddr,
  setNat,
  setTimestamp,
  toInt,
  toPort,
  transport,
} from './util';

/**
 * Palo Alto Networks PAN-OS CSV syslog (TRAFFIC, THREAT, SYSTEM…), by the field positions of the PAN-OS 8+
 * log formats, mapped as Elastic's panw integration does.
 */

/** Splits one CSV record; fields may be double-quoted with `""` escapes. */
export function splitCsv(s: string, start = 0): string[] {
  const out: string[] = [];
  const n = s.length;
  let i = start;
  for (;;) {
    if (s.charCodeAt(i) === 0x22) {
      let v = '';
      let j = i + 1;
      for (;;) {
        const q = s.indexOf('"', j);
        if (q < 0) {
          v += s.slice(j);
          j = n;
          break;
        }
        v += s.slice(j, q);
        if (s.charCodeAt(q + 1) === 0x22) {
          v += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      out.push(v);
      const comma = s.indexOf(',', j);
      if (comma < 0) return out;
      i = comma + 1;
    } else {
      const comma = s.indexOf(',', i);
      if (comma < 0) {
        out.push(s.slice(i));
        return out;
      }
      out.push(s.slice(i, comma));
      i = comma + 1;
    }
  }
}

/** Types without a session 5-tuple. */
const TYPES = new Set([
  'SYSTEM',
  'CONFIG',
  'HIPMATCH',
  'GLOBALPROTECT',
  'USERID',
  'AUTH',
  'CORRELATION',
  'IPTAG',
]);

/** `FUTURE_USE,YYYY/MM/DD hh:mm:ss,serial,TYPE,` at the start. */
function looksLikePanos(s: string): boolean {
  const c = s.charCodeAt(0);
  if (!((c >= 0x30 && c <= 0x39) || c === 0x2c)) return false;
  const c1 = s.indexOf(',');
  if (c1 < 0 || c1 > 12) return false;
  return s.charCodeAt(c1 + 5) === 0x2f && s.charCodeAt(c1 + 8) === 0x2f && s.charCodeAt(c1 + 11) === 0x20;
}

const SEVERITY: Record<string, number> = { critical: 1, high: 2, medium: 3, low: 4, informational: 5 };
const FLOW_ACTION: Record<string, string> = {
  start: 'flow_started',
  end: 'flow_terminated',
  drop: 'flow_dropped',
  deny: 'flow_denied',
};
const THREAT_ACTION: Record<string, string> = {
  url: 'url_filtering',
  virus: 'malware_detected',
  wildfire: 'malware_detected',
  'wildfire-virus': 'malware_detected',
  spyware: 'spyware_detected',
  vulnerability: 'exploit_detected',
  file: 'file_match',
  scan: 'scan_detected',
  flood: 'flood_detected',
  data: 'data_match',
};
const ALLOWED = new Set(['alert', 'allow', 'continue', 'override']);
const DIRECTION: Record<string, string> = {
  'client-to-server': 'inbound',
  'server-to-client': 'outbound',
  '0': 'inbound',
  '1': 'outbound',
};
const TIME = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  if (!looksLikePanos(s)) return false;
  const f = splitCsv(s);
  const type = f[3];
  if (type === undefined || !/^[A-Z]{3,16}$/.test(type)) return false;
  // Log types with a session (TRAFFIC, THREAT, GTP, SCTP, DECRYPTION…) share the first 31 positions.
  const session =
    type === 'TRAFFIC' ||
    type === 'THREAT' ||
    ((!TYPES.has(type) || type === 'GTP' || type === 'SCTP' || type === 'DECRYPTION') &&
      isIp(f[7]) &&
      isIp(f[8]));
  const subtype = f[4] ?? '';

  claimEndpoints(event);
  observer(event, 'Palo Alto Networks', 'PAN-OS', 'firewall');
  const obs = event.observer as Record<string, unknown>;
  if (f[2] !== undefined && f[2] !== '') obs.serial_number = f[2];
  const t = TIME.exec(f[6] ?? '');
  if (t !== null) {
    const p = t.slice(1).map(Number) as [number, number, number, number, number, number];
    setTimestamp(event, localToUtcMs(ctx.timeZone, ...p, 0));
  }
  // PAN-OS 10+ appends a millisecond timestamp with its offset (high_res_timestamp). It is the last ISO
  // field of the record: an earlier one (parent_start_time) is another time. An unset one reads as the
  // epoch, and then the generated time above stands.
  for (let i = f.length - 1; i >= 50; i--) {
    const v = f[i]!;
    if (v.length >= 24 && v.charCodeAt(10) === 0x54 && v.charCodeAt(4) === 0x2d) {
      const ms = Date.parse(v);
      if (ms > 86_400_000) setTimestamp(event, ms);
      break;
    }
  }

  if (session) {
    setAddr(event, 'source', f[7], toPort(f[24]));
    setAddr(event, 'destination', f[8], toPort(f[25]));
    if (f[9] !== '0.0.0.0') setNat(event, 'source', f[9], toPort(f[26]));
    if (f[10] !== '0.0.0.0') setNat(event, 'destination', f[10], toPort(f[27]));
    user(event, 'source', f[12]);
    user(event, 'destination', f[13]);
    transport(event, f[29]);
    const action = f[30] ?? '';
    const allowed = ALLOWED.has(action);
    const ifaces = event.observer as Record<string, unknown>;
    if (f[18]) ifaces.ingress = { interface: { name: f[18] }, zone: f[16] };
    if (f[19]) ifaces.egress = { interface: { name: f[19] }, zone: f[17] };
    if (type !== 'THREAT') {
      event.event.action = FLOW_ACTION[subtype] ?? `flow_${subtype}`;
      const kind = subtype === 'start' ? 'start' : subtype === 'end' ? 'end' : 'denied';
      categorize(event, ['network'], [kind, 'connection']);
      event.event.outcome = allowed ? 'success' : 'failure';
      if (type !== 'TRAFFIC') return true;
      const sent = toInt(f[32]);
      const rcvd = toInt(f[33]);
      if (sent !== undefined) endpoint(event, 'source').bytes = sent;
      if (rcvd !== undefined) endpoint(event, 'destination').bytes = rcvd;
      const ps = toInt(f[44]);
      const pr = toInt(f[45]);
      if (ps !== undefined) endpoint(event, 'source').packets = ps;
      if (pr !== undefined) endpoint(event, 'destination').packets = pr;
      addRelatedHost(event, nonEmpty(f[52]));
    } else {
      event.event.action = THREAT_ACTION[subtype] ?? `${subtype}_detected`;
      categorize(
        event,
        ['intrusion_detection', 'threat', 'network'],
        [allowed ? 'allowed' : 'denied'],
        'alert',
      );
      event.event.outcome = 'success';
      const sev = SEVERITY[f[34] ?? ''];
      if (sev !== undefined) event.event.severity = sev;
      const dir = DIRECTION[f[35] ?? ''];
      if (dir !== undefined) event.network = { ...event.network, direction: dir };
      if (subtype === 'url') {
        const host = urlHost(f[31] ?? '');
        if (host !== undefined) endpoint(event, 'destination').domain = host;
      }
      addRelatedHost(event, nonEmpty(f[59]));
    }
  } else {
    categorize(event, type === 'CONFIG' ? ['configuration'] : ['host'], ['info']);
    if (type === 'SYSTEM') {
      event.event.action = subtype;
      const sev = SEVERITY[f[12] ?? ''];
      if (sev !== undefined) event.event.severity = sev;
      if (f[14] !== undefined && f[14] !== '') event.message = f[14];
    }
  }
  return true;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function user(event: EcsEvent, side: 'source' | 'destination', name: string | undefined): void {
  if (name === undefined || name === '') return;
  endpoint(event, side).user = { name };
  addRelatedUser(event, name);
  if (side === 'source') event.user = { ...event.user, name };
}

function urlHost(url: string): string | undefined {
  const u = url.replace(/^[a-z]+:\/\//i, '');
  const end = u.search(/[/:?]/);
  const host = end < 0 ? u : u.slice(0, end);
  return host.length > 0 ? host : undefined;
}

export const panosDecoder: SyslogDecoder = { name: 'panos', decode };
