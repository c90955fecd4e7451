import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import {
  addRelatedHost,
  addRelatedUser,
  categorize,
  claimEndpoints,
  endpoint,
  observer,
  setAddr,
  setNat,
  setTimestamp,
  toInt,
  toPort,
  transport,
} from './util';

/**
 * Check Point Log Exporter syslog: an RFC 5424 header followed by `[key:"value"; key:"value"; …]` (not RFC
 * 5424 structured data, hence parse.ts's lenient retry), mapped as Elastic's checkpoint integration does.
 */

const PAIR = /([A-Za-z0-9_]+):"((?:[^"\\]|\\.)*)"/g;

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const s = fields.msgPart;
  if (s.charCodeAt(0) !== 0x5b || s.indexOf(':"') < 0 || s.indexOf(':"') > 64) return false;
  const kv: Record<string, string> = {};
  PAIR.lastIndex = 0;
  for (let m = PAIR.exec(s); m !== null; m = PAIR.exec(s)) kv[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  if (kv.action === undefined && kv.product === undefined && kv.origin === undefined) return false;

  claimEndpoints(event);
  observer(event, 'Checkpoint', kv.product ?? 'Check Point', 'firewall');
  if (kv.origin_sic_name !== undefined || kv.originsicname !== undefined)
    event.observer = { ...event.observer, hostname: event.host?.hostname };
  addRelatedHost(event, event.host?.hostname);
  const epoch = toInt(kv.time);
  if (epoch !== undefined) setTimestamp(event, epoch * 1000);
  setAddr(event, 'source', kv.src, toPort(kv.s_port));
  setAddr(event, 'destination', kv.dst, toPort(kv.service));
  setNat(event, 'source', kv.xlatesrc, toPort(kv.xlatesport));
  setNat(event, 'destination', kv.xlatedst, toPort(kv.xlatedport));
  if (kv.proto !== undefined) transport(event, kv.proto);
  const dir = kv.ifdir;
  if (dir === 'inbound' || dir === 'outbound') event.network = { ...event.network, direction: dir };
  if (kv.ifname !== undefined) {
    const key = dir === 'outbound' ? 'egress' : 'ingress';
    (event.observer as Record<string, unknown>)[key] = { interface: { name: kv.ifname } };
  }
  const user = kv.src_user_name ?? kv.user;
  if (user !== undefined && user !== '') {
    endpoint(event, 'source').user = { name: user };
    event.user = { ...event.user, name: user };
    addRelatedUser(event, user);
  }
  if (kv.dst_user_name !== undefined) {
    endpoint(event, 'destination').user = { name: kv.dst_user_name };
    addRelatedUser(event, kv.dst_user_name);
  }
  const sb = toInt(kv.client_outbound_bytes);
  const db = toInt(kv.server_outbound_bytes);
  if (sb !== undefined) endpoint(event, 'source').bytes = sb;
  if (db !== undefined) endpoint(event, 'destination').bytes = db;
  const action = kv.action;
  if (action !== undefined) {
    event.event.action = action;
    const a = action.toLowerCase();
    if (a === 'accept' || a === 'allow') {
      categorize(event, ['network'], ['connection', 'allowed']);
      event.event.outcome = 'success';
    } else if (a === 'drop' || a === 'reject' || a === 'block' || a === 'prevent') {
      categorize(event, ['network'], ['connection', 'denied']);
      event.event.outcome = 'failure';
    } else if (a === 'detect') {
      categorize(event, ['network', 'intrusion_detection'], ['info'], 'alert');
    } else {
      categorize(event, ['network'], ['info']);
    }
  } else {
    categorize(event, ['network'], ['info']);
  }
  if (kv.rule_name !== undefined || kv.rule_uid !== undefined)
    (event as Record<string, unknown>).rule = {
      ...(kv.rule_name ? { name: kv.rule_name } : {}),
      ...(kv.rule_uid ? { uuid: kv.rule_uid } : {}),
    };
  if (kv.sequencenum !== undefined) (event.event as Record<string, unknown>).sequence = toInt(kv.sequencenum);
  if (kv.severity !== undefined) {
    const sev = toInt(kv.severity);
    if (sev !== undefined) event.event.severity = sev;
  }
  if (kv.message !== undefined) event.message = kv.message;
  return true;
}

export const checkpointDecoder: SyslogDecoder = { name: 'checkpoint', decode };
