import { type EcsEvent } from '@citysoc/ecs';
import { readPri } from '../pri';
import { readTimestampAt, lastStamp } from '../rfc3164';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import {
  addRelatedUser,
  categorize,
  claimEndpoints,
  endpoint,
  observer,
  setAddr,
  setTimestamp,
  toPort,
  transport,
} from './util';

/**
 * Cisco IOS / IOS-XE / NX-OS `[<PRI>][seq: ][host: ][*|.]Mmm dd [yyyy ]hh:mm:ss[.mmm][ ZONE]: %FAC-SEV-MNEMONIC:
 * text`, as Elastic's cisco_ios pipeline maps it: mnemonic → event.code, severity → event.severity, text →
 * message, the device's own clock → @timestamp. Relays often wrap it in a second syslog header, so the inner
 * PRI and header are read from the MSG part.
 */

function isUpper(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** Index of `%FAC-n-MNEMONIC:` in the first bytes of s, or -1. */
function findMnemonic(s: string): number {
  const limit = Math.min(s.length, 160);
  for (let i = s.indexOf('%'); i >= 0 && i < limit; i = s.indexOf('%', i + 1)) {
    let j = i + 1;
    while (j < s.length && j - i < 40 && (isUpper(s.charCodeAt(j)) || s.charCodeAt(j) === 0x2d)) {
      if (s.charCodeAt(j) === 0x2d && s.charCodeAt(j + 2) === 0x2d) {
        const sev = s.charCodeAt(j + 1);
        if (sev >= 0x30 && sev <= 0x37 && j > i + 1) return i;
      }
      j++;
    }
  }
  return -1;
}

const LEAD = /^(?:\w+\d+(?:\/\d+)?:\s+)?(?:[a-zA-Z0-9_]+:\s+)?/;
const ACL =
  /^list (\S+) (denied|permitted) (\S+) ([0-9A-Fa-f.:]+)(?:\((\d+)\))?(?: \([^)]*\))? -> ([0-9A-Fa-f.:]+)(?:\((\d+)\))?.*?, (\d+) packets?/;
const LOGIN = /\[user: ([^\]]*)\] \[Source: ([^\]]*)\] \[localport: (\d+)\]/;
const LOGOUT = /^User (\S+) has exited \S+ session \d+\(([^)]*)\)/;

function details(event: EcsEvent, code: string, text: string): void {
  if (code.endsWith('ACCESSLOGP') || code.endsWith('ACCESSLOGDP') || code.endsWith('ACCESSLOGRP')) {
    const a = ACL.exec(text);
    if (a === null) return;
    claimEndpoints(event);
    setAddr(event, 'source', a[4], toPort(a[5]));
    setAddr(event, 'destination', a[6], toPort(a[7]));
    endpoint(event, 'source').packets = Number(a[8]);
    if (/^(tcp|udp|icmp|igmp|gre|esp|ah|sctp|ospf)$/i.test(a[3]!)) transport(event, a[3]);
    const deny = a[2] === 'denied';
    event.event.action = deny ? 'deny' : 'allow';
    event.event.type = ['info', deny ? 'denied' : 'allowed'];
    return;
  }
  if (code === 'LOGIN_SUCCESS' || code === 'LOGIN_FAILED') {
    const l = LOGIN.exec(text);
    if (l === null) return;
    claimEndpoints(event);
    setAddr(event, 'source', l[2]);
    endpoint(event, 'source').user = { name: l[1] };
    addRelatedUser(event, l[1]);
    endpoint(event, 'destination').port = Number(l[3]);
    return;
  }
  if (code === 'LOGOUT') {
    const o = LOGOUT.exec(text);
    if (o === null) return;
    claimEndpoints(event);
    setAddr(event, 'source', o[2]);
    endpoint(event, 'source').user = { name: o[1] };
    addRelatedUser(event, o[1]);
  }
}

const MNEMONIC = /^%([A-Z0-9_-]+?)-([0-7])-([A-Z0-9_]+)(?::\s*|\s+|$)/;
// Part of the text before %FAC: `<189>`, `000123:`, `sw01:`, a timestamp; read left to right.
const SEQ = /^(\d+): /;
const HOST = /^([A-Za-z0-9][A-Za-z0-9._-]*): /;

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  const at = findMnemonic(s);
  if (at < 0) return false;
  // ASA/FTD also write `%ASA-6-…`; their own decoder runs first, this guard keeps pinned use honest.
  if (s.startsWith('%ASA-', at) || s.startsWith('%FTD-', at)) return false;
  const m = MNEMONIC.exec(s.slice(at));
  if (m === null) return false;

  let prefix = s.slice(0, at);
  const pri = readPri(prefix);
  if (pri >= 0) {
    const p = pri & 0xff;
    const syslog = event.log?.syslog;
    if (syslog !== undefined) {
      syslog.priority = p;
      syslog.facility = { code: p >> 3, name: syslog.facility?.name ?? '' };
      syslog.severity = { code: p & 7, name: syslog.severity?.name ?? '' };
    }
    prefix = prefix.slice(pri >> 8);
  }
  let seq: number | undefined;
  for (let guard = 0; guard < 4 && prefix.length > 0; guard++) {
    prefix = prefix.trimStart();
    const sm = SEQ.exec(prefix);
    if (sm !== null) {
      seq ??= Number(sm[1]);
      prefix = prefix.slice(sm[0].length);
      continue;
    }
    let k = 0;
    const mark = prefix.charCodeAt(0);
    if (mark === 0x2a || mark === 0x2e) k = 1;
    const end = readTimestampAt(prefix, k, ctx.timeZone, ctx.receivedMs);
    if (end >= 0) {
      setTimestamp(event, lastStamp.ms);
      break;
    }
    const hm = HOST.exec(prefix);
    if (hm === null) break;
    const syslog = event.log?.syslog;
    if (syslog !== undefined) syslog.hostname = hm[1];
    event.host = { ...event.host, hostname: hm[1] };
    prefix = prefix.slice(hm[0].length);
  }
  if (event.log?.syslog?.hostname === undefined && fields.hostname !== undefined && event.log?.syslog)
    event.log.syslog.hostname = fields.hostname;

  const severity = Number(m[2]);
  // Elastic's cisco_ios pipeline calls every IOS device a firewall; kept so documents compare equal.
  observer(event, 'Cisco', 'IOS', 'firewall');
  event.event.provider = 'firewall';
  categorize(event, ['network'], ['info']);
  event.event.code = m[3];
  event.event.severity = severity;
  // event.sequence is ECS but not (yet) in the EcsEvent type.
  if (seq !== undefined) (event.event as Record<string, unknown>).sequence = seq;
  (event as Record<string, unknown>).cisco = {
    ios: { facility: m[1], ...(seq === undefined ? {} : { message_count: seq }) },
  };
  // Elastic drops an interface or severity word that prefixes the text (`Gi0/1: `, `WARNING: `).
  const text = s.slice(at + m[0].length).replace(LEAD, '');
  if (text.length > 0) event.message = text;
  details(event, m[3]!, text);
  // A process tag invented by the envelope from `2361044:` is the sequence number, not a program.
  if (fields.appname !== undefined && /^\d+$/.test(fields.appname)) event.process = undefined;
  return true;
}

export const ciscoIosDecoder: SyslogDecoder = { name: 'cisco_ios', decode };
