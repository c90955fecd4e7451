import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import { categorize, claimEndpoints, endpoint, parseKv, setAddr, toInt, toPort, transport } from './util';

/**
 * Linux netfilter LOG lines (`IN=eth0 OUT= MAC=… SRC=… DST=… PROTO=TCP SPT=… DPT=…`) from iptables, UFW and
 * Ubiquiti EdgeOS/UniFi, as Elastic's iptables integration maps them. The log prefix carries the verdict:
 * Ubiquiti writes `[RULESET-RULE-A|D|R]`, UFW `[UFW BLOCK]`.
 */

function looksLikeNetfilter(s: string): boolean {
  const p = s.lastIndexOf('PROTO=', 400);
  if (p < 0) return false;
  return s.lastIndexOf('SRC=', 400) >= 0 || s.lastIndexOf('SPT=', 400) >= 0 || s.lastIndexOf('IN=', 400) >= 0;
}

const UBNT = /\[([^\]\s]+)-(default|\d+)-([ADR])\]/;
const UFW = /\[UFW (\w+)\]/;
const VERDICT: Record<string, [string, string]> = {
  A: ['accept', 'allowed'],
  D: ['drop', 'denied'],
  R: ['reject', 'denied'],
  ALLOW: ['accept', 'allowed'],
  AUDIT: ['accept', 'allowed'],
  BLOCK: ['drop', 'denied'],
  DENY: ['drop', 'denied'],
  REJECT: ['reject', 'denied'],
};

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const s = fields.msgPart;
  if (!looksLikeNetfilter(s)) return false;
  // The prefix is glued to `IN=` (`[WAN_OUT-2000-A]IN=eth0`); pairs start after it.
  const inAt = s.indexOf('IN=');
  const kvStart = inAt >= 0 ? inAt : s.lastIndexOf(' ', s.indexOf('=')) + 1;
  const kv = parseKv(s, kvStart);
  claimEndpoints(event);
  categorize(event, ['network'], undefined);
  setAddr(event, 'source', kv.SRC, toPort(kv.SPT));
  setAddr(event, 'destination', kv.DST, toPort(kv.DPT));
  if (event.source === undefined && kv.SPT !== undefined) endpoint(event, 'source').port = toPort(kv.SPT);
  if (event.destination === undefined && kv.DPT !== undefined)
    endpoint(event, 'destination').port = toPort(kv.DPT);
  if (kv.PROTO !== undefined) transport(event, kv.PROTO);
  // MAC= is destination MAC, source MAC, ethertype: 6 + 6 + 2 bytes.
  const mac = kv.MAC;
  if (mac !== undefined && mac.length >= 35) {
    endpoint(event, 'destination').mac = mac.slice(0, 17).replace(/:/g, '-').toUpperCase();
    endpoint(event, 'source').mac = mac.slice(18, 35).replace(/:/g, '-').toUpperCase();
  }
  const obs: Record<string, unknown> = {};
  if (kv.IN !== undefined && kv.IN !== '') obs.ingress = { interface: { name: kv.IN } };
  if (kv.OUT !== undefined && kv.OUT !== '') obs.egress = { interface: { name: kv.OUT } };
  if (Object.keys(obs).length > 0) event.observer = { ...event.observer, ...obs };
  const len = toInt(kv.LEN);
  if (len !== undefined) event.network = { ...event.network, bytes: len };

  const head = inAt >= 0 ? s.slice(0, inAt) : s;
  const u = UBNT.exec(head);
  const verdict = u !== null ? VERDICT[u[3]!] : VERDICT[UFW.exec(head)?.[1] ?? ''];
  if (verdict !== undefined) {
    event.event.action = verdict[0];
    event.event.type = [verdict[1], 'connection'];
    event.event.outcome = verdict[1] === 'allowed' ? 'success' : 'failure';
  }
  if (u !== null) {
    (event as Record<string, unknown>).rule = { name: u[1], id: u[2] };
    observerIfUbiquiti(event);
  }
  // Elastic's iptables integration strips only the BSD timestamp: its message keeps the reporting host and
  // the kernel tag (`MainFirewall kernel: [WAN_OUT-2000-A]IN=…`), which is where observer.name comes from.
  if (fields.parser === 'rfc3164')
    event.message = fields.hostname !== undefined ? `${fields.hostname} ${s}` : s;
  return true;
}

function observerIfUbiquiti(event: EcsEvent): void {
  event.observer = { ...event.observer, vendor: 'Ubiquiti', type: 'firewall' };
}

export const iptablesDecoder: SyslogDecoder = { name: 'iptables', decode };
