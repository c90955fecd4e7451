import { type EcsEvent } from '@citysoc/ecs';
import { localToUtcMs, utcMs } from '../time';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import {
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
 * SonicWall SonicOS `id=firewall sn=… time="…" fw=… pri=… m=… msg="…" src=ip:port:iface dst=…` logs, as
 * Elastic's sonicwall_firewall integration maps them.
 */

function looksLikeSonicwall(s: string): boolean {
  return s.startsWith('id=') && s.lastIndexOf(' sn=', 120) > 0;
}

/** `ip:port:iface[:host]` (IPv4) as SonicOS writes endpoints. */
function endpointOf(v: string | undefined): [string | undefined, number | undefined, string | undefined] {
  if (v === undefined) return [undefined, undefined, undefined];
  const parts = v.split(':');
  if (parts.length > 4) return [v, undefined, undefined];
  return [parts[0], toPort(parts[1]), parts[2]];
}

const TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})( UTC)?$/;

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  if (!looksLikeSonicwall(s)) return false;
  // SonicOS quotes some values with single quotes (appName='General HTTPS').
  const kv = parseKv(s.replace(/='([^']*)'/g, '="$1"'));
  claimEndpoints(event);
  observer(event, 'SonicWall', 'SonicOS', 'firewall');
  if (kv.sn !== undefined) (event.observer as Record<string, unknown>).serial_number = kv.sn;
  if (kv.fw !== undefined) event.observer = { ...event.observer, ip: [kv.fw] };
  const t = TIME.exec(kv.time ?? '');
  if (t !== null) {
    const p = t.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    setTimestamp(event, t[7] !== undefined ? utcMs(...p, 0) : localToUtcMs(ctx.timeZone, ...p, 0));
  }
  if (kv.m !== undefined) event.event.code = kv.m;
  if (kv.msg !== undefined) event.message = kv.msg;
  const pri = toInt(kv.pri);
  if (pri !== undefined) event.event.severity = pri;
  const [sip, sport, sif] = endpointOf(kv.src);
  const [dip, dport, dif] = endpointOf(kv.dst);
  setAddr(event, 'source', sip, sport);
  setAddr(event, 'destination', dip, dport);
  const obs = event.observer as Record<string, unknown>;
  if (sif !== undefined && sif !== '') obs.ingress = { interface: { name: sif } };
  if (dif !== undefined && dif !== '') obs.egress = { interface: { name: dif } };
  const [nsip, nsport] = endpointOf(kv.natSrc);
  const [ndip, ndport] = endpointOf(kv.natDst);
  setNat(event, 'source', nsip, nsport);
  setNat(event, 'destination', ndip, ndport);
  const proto = kv.proto?.split('/')[0];
  if (proto !== undefined && proto !== '') transport(event, proto);
  const sm = ecsMac(kv.srcMac);
  if (sm !== undefined) endpoint(event, 'source').mac = sm;
  const dm = ecsMac(kv.dstMac);
  if (dm !== undefined) endpoint(event, 'destination').mac = dm;
  const sent = toInt(kv.sent);
  const rcvd = toInt(kv.rcvd);
  if (sent !== undefined) endpoint(event, 'source').bytes = sent;
  if (rcvd !== undefined) endpoint(event, 'destination').bytes = rcvd;
  const sp = toInt(kv.spkt);
  const rp = toInt(kv.rpkt);
  if (sp !== undefined) endpoint(event, 'source').packets = sp;
  if (rp !== undefined) endpoint(event, 'destination').packets = rp;
  const user = kv.usr ?? kv.user;
  if (user !== undefined && user !== '' && user !== 'Unknown (SSO bypass)') {
    endpoint(event, 'source').user = { name: user };
    event.user = { ...event.user, name: user };
    addRelatedUser(event, user);
  }
  const msg = (kv.msg ?? '').toLowerCase();
  if (kv.fw_action !== undefined && kv.fw_action !== '"NA"' && kv.fw_action !== 'NA')
    event.event.action = kv.fw_action.replace(/"/g, '');
  if (/dropped|denied|blocked/.test(msg) || kv.fw_action === 'drop') {
    categorize(event, ['network'], ['connection', 'denied']);
    event.event.outcome = 'failure';
  } else if (msg.startsWith('connection opened')) {
    categorize(event, ['network'], ['connection', 'start']);
  } else if (msg.startsWith('connection closed')) {
    categorize(event, ['network'], ['connection', 'end']);
  } else {
    categorize(event, ['network'], ['info']);
  }
  return true;
}

export const sonicwallDecoder: SyslogDecoder = { name: 'sonicwall', decode };
