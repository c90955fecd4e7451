import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import {
  addRelatedUser,
  categorize,
  claimEndpoints,
  endpoint,
  observer,
  observerFromHost,
  setAddr,
  setNat,
  toInt,
  toPort,
  transport,
} from './util';

/**
 * Juniper SRX / Junos structured syslog (`[junos@2636.… source-address="…" …]`, RFC 5424), as Elastic's
 * juniper_srx integration maps it: RT_FLOW session create/close/deny become connection start/end/denied,
 * with NAT, zones, bytes and packets per side.
 */

const ACTIONS: Record<string, [string, string[], 'success' | 'failure']> = {
  RT_FLOW_SESSION_CREATE: ['flow_started', ['connection', 'start', 'allowed'], 'success'],
  RT_FLOW_SESSION_CREATE_LS: ['flow_started', ['connection', 'start', 'allowed'], 'success'],
  RT_FLOW_SESSION_CLOSE: ['flow_close', ['connection', 'end', 'allowed'], 'success'],
  RT_FLOW_SESSION_CLOSE_LS: ['flow_close', ['connection', 'end', 'allowed'], 'success'],
  RT_FLOW_SESSION_DENY: ['flow_deny', ['connection', 'denied'], 'failure'],
  RT_FLOW_SESSION_DENY_LS: ['flow_deny', ['connection', 'denied'], 'failure'],
};

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const sd = fields.structuredData;
  if (sd === undefined) return false;
  let p: Record<string, string | string[]> | undefined;
  for (const id in sd) {
    if (id.startsWith('junos@')) {
      p = sd[id];
      break;
    }
  }
  if (p === undefined) return false;
  const v = (k: string): string | undefined => {
    const x = p[k];
    const s = Array.isArray(x) ? x[0] : x;
    return s === undefined || s === '' || s === 'N/A' || s === 'None' ? undefined : s;
  };
  claimEndpoints(event);
  observer(event, 'Juniper', 'SRX', 'firewall');
  observerFromHost(event);
  const tag = fields.msgid ?? '';
  if (tag !== '') event.event.code = tag;
  const known = ACTIONS[tag];
  if (known !== undefined) {
    event.event.action = known[0];
    categorize(event, ['network'], known[1]);
    event.event.outcome = known[2];
  } else if (
    tag.startsWith('RT_IDP') ||
    tag.startsWith('RT_SCREEN') ||
    tag.startsWith('AAMW') ||
    tag.startsWith('RT_UTM')
  ) {
    event.event.action = tag.toLowerCase();
    categorize(event, ['network', 'intrusion_detection'], ['info'], 'alert');
  } else {
    categorize(event, ['network'], ['info']);
  }
  setAddr(event, 'source', v('source-address'), toPort(v('source-port')));
  setAddr(event, 'destination', v('destination-address'), toPort(v('destination-port')));
  setNat(event, 'source', v('nat-source-address'), toPort(v('nat-source-port')));
  setNat(event, 'destination', v('nat-destination-address'), toPort(v('nat-destination-port')));
  const proto = v('protocol-id');
  if (proto !== undefined) transport(event, proto);
  else if (v('protocol-name') !== undefined) transport(event, v('protocol-name'));
  const num = (k: string): number | undefined => toInt(v(k));
  const sb = num('bytes-from-client');
  const db = num('bytes-from-server');
  const sp = num('packets-from-client');
  const dp = num('packets-from-server');
  if (sb !== undefined) endpoint(event, 'source').bytes = sb;
  if (db !== undefined) endpoint(event, 'destination').bytes = db;
  if (sp !== undefined) endpoint(event, 'source').packets = sp;
  if (dp !== undefined) endpoint(event, 'destination').packets = dp;
  const user = v('username');
  if (user !== undefined) {
    endpoint(event, 'source').user = { name: user };
    event.user = { ...event.user, name: user };
    addRelatedUser(event, user);
  }
  const obs = event.observer as Record<string, unknown>;
  const inZone = v('source-zone-name');
  const outZone = v('destination-zone-name');
  if (inZone !== undefined) obs.ingress = { zone: inZone };
  if (outZone !== undefined) obs.egress = { zone: outZone };
  const policy = v('policy-name');
  if (policy !== undefined) (event as Record<string, unknown>).rule = { name: policy };
  const reason = v('reason');
  if (reason !== undefined) (event.event as Record<string, unknown>).reason = reason;
  const app = v('application');
  if (app !== undefined && app !== 'UNKNOWN')
    event.network = { ...event.network, protocol: app.toLowerCase() };
  return true;
}

export const junosDecoder: SyslogDecoder = { name: 'junos', decode };
