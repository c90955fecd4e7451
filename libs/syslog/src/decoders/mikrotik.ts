import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import {
  categorize,
  claimEndpoints,
  ecsMac,
  endpoint,
  observer,
  observerFromHost,
  setAddr,
  setNat,
  setUser,
  toInt,
  toPort,
  transport,
} from './util';

/**
 * MikroTik RouterOS remote logging: the message starts with the topics (`firewall,info`, `system,error,critical`)
 * then the text. Firewall rules with log=yes write `<prefix> <chain>: in:<if> out:<if>, src-mac <mac>, proto TCP
 * (SYN), <src>:<port>-><dst>:<port>, NAT (…)->(…), len <n>`; logins `user admin logged in from 10.0.0.5 via winbox`.
 */

const SEVERITIES = new Set(['debug', 'info', 'warning', 'error', 'critical']);
const TOPICS = /^([a-z][a-z0-9-]*(?:,[a-z][a-z0-9-]*)+) /;

const FW =
  /(?:^|\s)(input|forward|output|prerouting|postrouting|srcnat|dstnat|[\w-]+): in:(\S+) out:(.+?), (?:connection-state:\S+ )?(?:src-mac ([0-9a-f:]{17}), )?proto (\w+)(?: \(([^)]*)\))?, ([0-9a-fA-F.:[\]]+?):?(\d+)?->([0-9a-fA-F.:[\]]+?):?(\d+)?, (?:NAT (\S+), )?(?:prio \S+, )?len (\d+)/;
const LOGIN_FAIL = /^login failure for user (\S+) from (\S+) via (\S+)/;
const LOGGED = /^user (\S+) logged (in|out) from (\S+) via (\S+)/;
const CHANGED = /^(.+?) (added|changed|removed) by (\S+)/;

/** `1.2.3.4:80` or `[2001:db8::1]:80` or a bare address → [ip, port]. */
function hostPort(s: string | undefined): [string | undefined, number | undefined] {
  if (s === undefined) return [undefined, undefined];
  const b = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (b) return [b[1], toPort(b[2])];
  const i = s.lastIndexOf(':');
  if (i > 0 && s.indexOf(':') === i) return [s.slice(0, i), toPort(s.slice(i + 1))];
  return [s, undefined];
}

/**
 * RouterOS writes srcnat as `(src->translated-src)->dst`, dstnat as `src->(dst->translated-dst)`, both as
 * `(…->…)->(…->…)`. Whichever address of a side differs from the logged tuple is that side's NAT address.
 */
function nat(event: EcsEvent, spec: string, sip: string | undefined, dip: string | undefined): void {
  const both = /^\(([^)]*)->([^)]*)\)->\(([^)]*)->([^)]*)\)$/.exec(spec);
  const src = /^\(([^)]*)->([^)]*)\)->([^()]+)$/.exec(spec);
  const dst = /^([^()]+)->\(([^)]*)->([^)]*)\)$/.exec(spec);
  const srcSide = both ? [both[1], both[2]] : src ? [src[1], src[2]] : [];
  const dstSide = both ? [both[3], both[4]] : dst ? [dst[2], dst[3]] : [];
  for (const a of srcSide) {
    const [ip, port] = hostPort(a);
    if (ip !== undefined && ip !== sip) setNat(event, 'source', ip, port);
  }
  for (const a of dstSide) {
    const [ip, port] = hostPort(a);
    if (ip !== undefined && ip !== dip) setNat(event, 'destination', ip, port);
  }
}

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const s = fields.msgPart;
  const t = TOPICS.exec(s);
  if (t === null) return false;
  const topics = t[1]!.split(',');
  const severity = topics.find((x) => SEVERITIES.has(x));
  if (severity === undefined) return false;
  const text = s.slice(t[0].length);
  claimEndpoints(event);
  observer(event, 'MikroTik', 'RouterOS', 'router');
  observerFromHost(event);
  (event as Record<string, unknown>).mikrotik = { topics };
  event.message = text;
  event.log = { ...event.log, level: severity };

  let m: RegExpExecArray | null;
  if (topics.includes('firewall') && (m = FW.exec(text)) !== null) {
    const e = event.event;
    categorize(event, ['network'], ['connection']);
    e.action = m[1]!;
    const obs = event.observer as Record<string, unknown>;
    if (m[2] && !m[2].startsWith('(unknown')) obs.ingress = { interface: { name: m[2] } };
    const out = m[3]!.trim();
    if (out !== '' && !out.startsWith('(unknown')) obs.egress = { interface: { name: out } };
    const mac = ecsMac(m[4]);
    if (mac !== undefined) endpoint(event, 'source').mac = mac;
    transport(event, m[5]);
    const [sip, sport] = [m[7], toPort(m[8])];
    const [dip, dport] = [m[9], toPort(m[10])];
    setAddr(event, 'source', sip?.replace(/^\[|\]$/g, ''), sport);
    setAddr(event, 'destination', dip?.replace(/^\[|\]$/g, ''), dport);
    if (m[11] !== undefined) nat(event, m[11], sip, dip);
    const len = toInt(m[12]);
    if (len !== undefined) event.network = { ...event.network, bytes: len };
    // The rule's log-prefix, when set, stands before the chain name.
    const prefix = text.slice(0, m.index).trim();
    if (prefix !== '') (event as Record<string, unknown>).rule = { name: prefix };
    return true;
  }
  if ((m = LOGIN_FAIL.exec(text)) !== null) {
    categorize(event, ['authentication'], ['start']);
    event.event.action = 'login-failure';
    event.event.outcome = 'failure';
    setUser(event, m[1]);
    setAddr(event, 'source', m[2]);
    event.network = { ...event.network, protocol: m[3]! };
    return true;
  }
  if ((m = LOGGED.exec(text)) !== null) {
    categorize(event, ['authentication'], [m[2] === 'in' ? 'start' : 'end']);
    event.event.action = m[2] === 'in' ? 'logged-in' : 'logged-out';
    event.event.outcome = 'success';
    setUser(event, m[1]);
    setAddr(event, 'source', m[3]);
    event.network = { ...event.network, protocol: m[4]! };
    return true;
  }
  if ((m = CHANGED.exec(text)) !== null) {
    categorize(
      event,
      ['configuration'],
      [m[2] === 'added' ? 'creation' : m[2] === 'removed' ? 'deletion' : 'change'],
    );
    event.event.action = `config-${m[2]!}`;
    setUser(event, m[3]);
    return true;
  }
  categorize(event, topics.includes('account') ? ['authentication'] : ['host'], ['info']);
  return true;
}

export const mikrotikDecoder: SyslogDecoder = { name: 'mikrotik', decode };
