import { type EcsEvent } from '@citysoc/ecs';
import { localToUtcMs, utcMs } from '../time';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import {
  addRelatedIp,
  addRelatedUser,
  categorize,
  claimEndpoints,
  ecsMac,
  endpoint,
  observer,
  parseKv,
  setAddr,
  setNat,
  setTimestamp,
  toInt,
  toPort,
  transport,
} from './util';

/**
 * FortiGate `date=… time=… logid="…" type="traffic" …` key=value logs, mapped as Elastic's
 * fortinet_fortigate integration does (srcip/dstip/trans*, bytes and packets per side, logid → event.code).
 */

const DENY = new Set(['deny', 'block', 'blocked', 'dropped', 'drop', 'reset', 'denied']);
const ALLOW = new Set([
  'accept',
  'allow',
  'allowed',
  'pass',
  'passthrough',
  'server-rst',
  'client-rst',
  'timeout',
]);

function looksLikeFortigate(s: string): boolean {
  const c = s.charCodeAt(0);
  // date= | logver= | devname= | eventtime= | logid= …, and a logid pair within the first bytes.
  if (c !== 0x64 && c !== 0x6c && c !== 0x65 && c !== 0x74) return false;
  if (!(
    s.startsWith('date=') ||
    s.startsWith('logver=') ||
    s.startsWith('devname=') ||
    s.startsWith('eventtime=') ||
    s.startsWith('logid=') ||
    s.startsWith('timestamp=')
  ))
    return false;
  return s.lastIndexOf('logid=', 400) >= 0 || s.lastIndexOf('devid=', 400) >= 0;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})$/;
const TZ = /^([+-])(\d{2}):?(\d{2})$/;

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  if (!looksLikeFortigate(s)) return false;
  const kv = parseKv(s);
  claimEndpoints(event);
  observer(event, 'Fortinet', 'Fortigate', 'firewall');
  const obs = event.observer as Record<string, unknown>;
  if (kv.devname !== undefined) obs.name = kv.devname;
  if (kv.devid !== undefined) obs.serial_number = kv.devid;

  const d = DATE.exec(kv.date ?? '');
  const t = TIME.exec(kv.time ?? '');
  if (d !== null && t !== null) {
    const parts = [d[1], d[2], d[3], t[1], t[2], t[3]].map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const z = TZ.exec(kv.tz ?? '');
    const ms =
      z !== null
        ? utcMs(...parts, 0) - (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60_000
        : localToUtcMs(ctx.timeZone, ...parts, 0);
    setTimestamp(event, ms);
  }

  if (kv.logid !== undefined) event.event.code = kv.logid;
  const action = kv.action;
  if (action !== undefined) event.event.action = action;
  if (kv.level !== undefined) event.log = { ...event.log, level: kv.level };
  if (kv.msg !== undefined) event.message = kv.msg;

  setAddr(event, 'source', kv.srcip, toPort(kv.srcport));
  setAddr(event, 'destination', kv.dstip, toPort(kv.dstport));
  if (event.source !== undefined) {
    const mac = ecsMac(kv.srcmac);
    if (mac !== undefined) event.source.mac = mac;
    const b = toInt(kv.sentbyte);
    if (b !== undefined) event.source.bytes = b;
    const p = toInt(kv.sentpkt);
    if (p !== undefined) event.source.packets = p;
  }
  if (event.destination !== undefined) {
    const mac = ecsMac(kv.dstmac);
    if (mac !== undefined) event.destination.mac = mac;
    const b = toInt(kv.rcvdbyte);
    if (b !== undefined) event.destination.bytes = b;
    const p = toInt(kv.rcvdpkt);
    if (p !== undefined) event.destination.packets = p;
  }
  if (kv.transip !== undefined && kv.transip !== '0.0.0.0')
    setNat(event, 'source', kv.transip, toPort(kv.transport));
  if (kv.tranip !== undefined && kv.tranip !== '0.0.0.0')
    setNat(event, 'destination', kv.tranip, toPort(kv.tranport));
  addRelatedIp(event, kv.remip);
  // SSL-VPN events (tunnel-up, ssl-login-*) name the connecting client only as remip: it is the source of
  // the login, which rules about where a VPN login comes from need. IPsec remip stays a peer, not a source.
  if (
    event.source === undefined &&
    kv.remip !== undefined &&
    kv.subtype === 'vpn' &&
    (kv.tunneltype?.startsWith('ssl') === true || action?.startsWith('ssl-') === true)
  )
    setAddr(event, 'source', kv.remip, toPort(kv.remport));
  if (kv.proto !== undefined) transport(event, kv.proto);
  const user = kv.user ?? kv.srcuser;
  if (user !== undefined && user !== '' && user !== 'N/A') {
    endpoint(event, 'source').user = { name: user };
    event.user = { ...event.user, name: user };
    addRelatedUser(event, user);
  }
  if (kv.dstuser !== undefined && kv.dstuser !== '') {
    endpoint(event, 'destination').user = { name: kv.dstuser };
    addRelatedUser(event, kv.dstuser);
  }
  const dir = direction(kv.srcintfrole, kv.dstintfrole);
  if (dir !== undefined) event.network = { ...event.network, direction: dir };

  const type = kv.type;
  const act = action?.toLowerCase();
  if (type === 'traffic') {
    const types = ['connection', 'end'];
    if (kv.app !== undefined) types.push('protocol');
    if (act !== undefined && DENY.has(act)) types.push('denied');
    else if (act !== undefined && ALLOW.has(act)) types.push('allowed');
    categorize(event, ['network'], types);
    event.event.outcome = act !== undefined && DENY.has(act) ? 'failure' : 'success';
  } else if (type === 'utm') {
    const sub = kv.subtype;
    const category =
      sub === 'virus'
        ? ['network', 'malware']
        : sub === 'ips' || sub === 'anomaly'
          ? ['network', 'intrusion_detection']
          : ['network'];
    const blocked = act !== undefined && (DENY.has(act) || act === 'blocked');
    categorize(
      event,
      category,
      [blocked ? 'denied' : 'allowed'],
      sub === 'virus' || sub === 'ips' ? 'alert' : 'event',
    );
    event.event.outcome = blocked ? 'failure' : 'success';
  } else {
    categorize(event, ['network'], ['info']);
    if (kv.status === 'success' || kv.status === 'failure') event.event.outcome = kv.status;
  }
  return true;
}

function direction(src: string | undefined, dst: string | undefined): string | undefined {
  const s = src === 'lan' || src === 'dmz' ? 'in' : src === 'wan' ? 'out' : undefined;
  const d = dst === 'lan' || dst === 'dmz' ? 'in' : dst === 'wan' ? 'out' : undefined;
  if (s === undefined || d === undefined) return undefined;
  if (s === 'in') return d === 'in' ? 'internal' : 'outbound';
  return d === 'in' ? 'inbound' : 'external';
}

export const fortigateDecoder: SyslogDecoder = { name: 'fortigate', decode };
