import { type EcsEndpoint, type EcsEvent } from '@citysoc/ecs';
import { isoString } from '../ecs';

export { type DecodeContext } from '../types';

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Cheap shape check; IPv6 is accepted on its alphabet and colon count, which is all ECS needs here. */
export function isIp(s: string | undefined): s is string {
  if (s === undefined || s.length < 2 || s.length > 45) return false;
  if (s.indexOf(':') < 0) return IPV4.test(s);
  let colons = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) colons++;
    else if (!(
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x61 && c <= 0x66) ||
      (c >= 0x41 && c <= 0x46) ||
      c === 0x2e
    ))
      return false;
  }
  return colons >= 2;
}

export function toPort(s: string | undefined): number | undefined {
  if (s === undefined || s.length === 0 || s.length > 5) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

export function toInt(s: string | undefined): number | undefined {
  if (s === undefined || s.length === 0 || s.length > 18) return undefined;
  const n = Number(s);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * The envelope put the sender's address in `source`; once a decoder knows the message's own endpoints that
 * is wrong (the sender stays in `log.source.address`).
 */
export function claimEndpoints(event: EcsEvent): void {
  // Assigning undefined (not delete) keeps the event object in V8's fast mode; JSON drops the key anyway.
  event.source = undefined;
}

export function endpoint(event: EcsEvent, side: 'source' | 'destination'): EcsEndpoint {
  let e = event[side];
  if (e === undefined) {
    e = {};
    event[side] = e;
  }
  return e;
}

/** Sets ip (+ address, as Elastic's integrations do) and port, and records the ip in related.ip. */
export function setAddr(
  event: EcsEvent,
  side: 'source' | 'destination',
  ip: string | undefined,
  port?: number,
): void {
  if (!isIp(ip)) return;
  const e = endpoint(event, side);
  e.ip = ip;
  e.address = ip;
  if (port !== undefined) e.port = port;
  addRelatedIp(event, ip);
}

export function setNat(
  event: EcsEvent,
  side: 'source' | 'destination',
  ip: string | undefined,
  port?: number,
): void {
  // Appliances write 0.0.0.0 / port 0 for "no translation".
  if (!isIp(ip) || ip === '0.0.0.0') return;
  if (port === 0) port = undefined;
  const e = endpoint(event, side) as EcsEndpoint & { nat?: { ip?: string; port?: number } };
  e.nat = port === undefined ? { ip } : { ip, port };
  addRelatedIp(event, ip);
}

function addRelated(event: EcsEvent, key: 'ip' | 'user' | 'hosts', value: string): void {
  if (value.length === 0) return;
  let r = event.related;
  if (r === undefined) {
    r = {};
    event.related = r;
  }
  const list = r[key];
  if (list === undefined) r[key] = [value];
  else if (!list.includes(value)) list.push(value);
}

export function addRelatedIp(event: EcsEvent, ip: string | undefined): void {
  if (isIp(ip)) addRelated(event, 'ip', ip);
}

export function addRelatedUser(event: EcsEvent, user: string | undefined): void {
  if (user !== undefined && user !== '-' && user.length > 0) addRelated(event, 'user', user);
}

export function addRelatedHost(event: EcsEvent, host: string | undefined): void {
  if (host !== undefined && host !== '-') addRelated(event, 'hosts', host);
}

export function setUser(event: EcsEvent, name: string | undefined): void {
  if (name === undefined || name.length === 0 || name === '-') return;
  event.user = { ...event.user, name };
  addRelatedUser(event, name);
}

export function observer(event: EcsEvent, vendor: string, product: string, type: string): void {
  event.observer = { ...event.observer, vendor, product, type };
}

/** Elastic's integrations copy the header hostname to observer.hostname and related.hosts for appliances. */
export function observerFromHost(event: EcsEvent): void {
  const h = event.host?.hostname;
  if (h === undefined) return;
  event.observer = { ...event.observer, hostname: h };
  addRelatedHost(event, h);
}

export function categorize(
  event: EcsEvent,
  category: string[] | undefined,
  type: string[] | undefined,
  kind: EcsEvent['event']['kind'] = 'event',
): void {
  if (category !== undefined) event.event.category = category;
  if (type !== undefined) event.event.type = type;
  event.event.kind = kind;
}

export function setTimestamp(event: EcsEvent, ms: number): void {
  if (Number.isFinite(ms)) event['@timestamp'] = isoString(ms);
}

const IANA: Record<string, string> = {
  '1': 'icmp',
  '2': 'igmp',
  '6': 'tcp',
  '17': 'udp',
  '41': 'ipv6',
  '47': 'gre',
  '50': 'esp',
  '51': 'ah',
  '58': 'ipv6-icmp',
  '89': 'ospf',
  '132': 'sctp',
};

/** `6` → tcp; names are lower-cased, as ECS network.transport is. */
export function transport(event: EcsEvent, proto: string | undefined): void {
  if (proto === undefined || proto.length === 0) return;
  const numeric = toInt(proto) !== undefined;
  const name = IANA[proto] ?? (numeric ? undefined : proto.toLowerCase());
  if (name === undefined) return;
  const network = (event.network ??= {});
  network.transport = name;
  const number = numeric ? proto : ianaNumber(name);
  if (number !== undefined) network.iana_number = number;
}

const IANA_BY_NAME = new Map(Object.entries(IANA).map(([k, v]) => [v, k]));

function ianaNumber(name: string): string | undefined {
  return IANA_BY_NAME.get(name);
}

/**
 * `key=value` pairs separated by spaces, values optionally double-quoted (FortiGate, SonicWall, iptables).
 * A key is `[A-Za-z0-9_.-]+`; text that is not a pair is skipped to the next space.
 */
export function parseKv(s: string, start = 0, out: Record<string, string> = {}): Record<string, string> {
  const n = s.length;
  let i = start;
  while (i < n) {
    while (i < n && s.charCodeAt(i) === 0x20) i++;
    const k0 = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x3d || c === 0x20) break;
      i++;
    }
    if (i >= n || s.charCodeAt(i) !== 0x3d || i === k0) {
      while (i < n && s.charCodeAt(i) !== 0x20) i++;
      continue;
    }
    const key = s.slice(k0, i);
    i++;
    let value: string;
    if (s.charCodeAt(i) === 0x22) {
      const close = s.indexOf('"', i + 1);
      const end = close < 0 ? n : close;
      value = s.slice(i + 1, end);
      i = end + 1;
    } else {
      const v0 = i;
      while (i < n && s.charCodeAt(i) !== 0x20) i++;
      value = s.slice(v0, i);
    }
    if (!(key in out)) out[key] = value;
  }
  return out;
}

/** `aa:bb:cc:dd:ee:ff` → `AA-BB-CC-DD-EE-FF`, the ECS form. */
export function ecsMac(mac: string | undefined): string | undefined {
  if (mac === undefined || !/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(mac)) return undefined;
  return mac.replace(/:/g, '-').toUpperCase();
}

/**
 * Index of `needle` starting within the first `limit` characters of s, or -1. lastIndexOf from `limit` scans
 * only that prefix, which keeps detection independent of the message length.
 */
export function indexWithin(s: string, needle: string, limit: number): number {
  return s.lastIndexOf(needle, limit);
}
