import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import {
  categorize,
  claimEndpoints,
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
 * Huawei VRP (switches, routers, USG/Eudemon firewalls):
 * `%%01SHELL/5/CMDRECORD(s)[0]:Recorded command information. (Task=VT0, Ip=10.1.1.1, User=admin, …)` —
 * version, module/severity/mnemonic, log type (l log, s security, d diagnostic, t trap), sequence number,
 * description, and parameters in parentheses (or, for USG policy and session logs, `key=value, …` inline).
 */

const HEAD = /%%(\d{2})([A-Za-z][\w-]*)\/(\d)\/([A-Za-z][\w-]*)(?:\(([lsdtLSDT])\))?(?:\[(\d+)\])?:\s?/;
const PARAM = /([A-Za-z][\w.-]*)=(?:"([^"]*)"|([^,]*))(?:,\s*|$)/g;

function params(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  PARAM.lastIndex = 0;
  for (let m = PARAM.exec(text); m !== null && m[0] !== ''; m = PARAM.exec(text)) {
    // Keys compared without case or separators: VRP versions write UserName, user-name and User_Name.
    const key = m[1]!.toLowerCase().replace(/[-_.]/g, '');
    if (!(key in out)) out[key] = (m[2] ?? m[3] ?? '').trim();
  }
  return out;
}

function pick(p: Record<string, string>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = p[k];
    if (v !== undefined && v !== '' && v !== '--' && v !== 'N/A') return v;
  }
  return undefined;
}

function classify(event: EcsEvent, mnemonic: string, module: string, p: Record<string, string>): void {
  const m = mnemonic.toUpperCase();
  const result = (pick(p, ['result', 'status']) ?? '').toLowerCase();
  const failed = /FAIL|DENY|REJECT/.test(m) || /fail|denied|reject/.test(result);
  if (/LOGOUT|LOGOFF|LOGINOUT/.test(m)) categorize(event, ['authentication'], ['end']);
  else if (/LOGIN|LOGON|AUTH/.test(m)) categorize(event, ['authentication'], ['start']);
  else if (
    /POLICY(PERMIT|DENY)|SESSION|PACKET_?FILTER|ACL/.test(m) ||
    module === 'POLICY' ||
    module === 'SEC'
  )
    categorize(event, ['network'], ['connection', failed ? 'denied' : 'allowed']);
  else if (m === 'CMDRECORD') categorize(event, ['configuration'], ['info']);
  else if (/CFG|CONFIG|SAVE/.test(m) || module === 'CFGMAN' || module === 'CFM')
    categorize(event, ['configuration'], ['change']);
  else if (module === 'IFNET' || module === 'IFPDT' || /LINK|UPDOWN|PORT/.test(m))
    categorize(event, ['network'], ['info']);
  else categorize(event, ['host'], ['info']);
  if (failed) event.event.outcome = 'failure';
  else if (
    result.startsWith('succe') ||
    /SUCC|PERMIT/.test(m) ||
    event.event.category?.[0] === 'authentication'
  )
    event.event.outcome = 'success';
}

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const s = fields.msgPart;
  const at = s.indexOf('%%');
  if (at < 0 || at > 120) return false;
  const h = HEAD.exec(s.slice(at, at + 160));
  if (h === null || h.index !== 0) return false;
  const module = h[2]!;
  const severity = Number(h[3]);
  const mnemonic = h[4]!;
  const rest = s.slice(at + h[0].length).trim();
  // `Description. (k=v, …)`; policy/session logs put the pairs right after the colon.
  let description = rest;
  let p: Record<string, string> = {};
  const open = rest.lastIndexOf(' (');
  if (rest.endsWith(')') && open >= 0) {
    description = rest.slice(0, open).trim();
    p = params(rest.slice(open + 2, -1));
  } else if (/^[A-Za-z][\w.-]*=/.test(rest)) {
    p = params(rest.replace(/\.$/, ''));
    description = rest;
  }

  claimEndpoints(event);
  // The envelope took `%%01SHELL/5/CMDRECORD(s)[0]` for a program tag; it is the log's own header.
  event.process = undefined;
  const isFirewall = module === 'POLICY' || module === 'SEC' || module === 'SESSION' || module === 'FW';
  observer(event, 'Huawei', 'VRP', isFirewall ? 'firewall' : 'network');
  observerFromHost(event);
  const e = event.event;
  e.code = `${module}/${severity}/${mnemonic}`;
  e.severity = severity;
  e.action = mnemonic.toLowerCase().replace(/_/g, '-');
  const seq = toInt(h[6]);
  if (seq !== undefined) (e as Record<string, unknown>).sequence = seq;
  classify(event, mnemonic, module.toUpperCase(), p);
  if (description !== '') event.message = description;

  const user = pick(p, ['user', 'username', 'usrname', 'loginuser']);
  setUser(event, user);
  setAddr(
    event,
    'source',
    pick(p, ['ip', 'useraddress', 'ipaddress', 'sourceip', 'srcip', 'sourceaddress', 'clientip']),
    toPort(pick(p, ['sourceport', 'srcport', 'userport'])),
  );
  setAddr(
    event,
    'destination',
    pick(p, ['destinationip', 'dstip', 'destinationaddress', 'localaddress', 'serverip']),
    toPort(pick(p, ['destinationport', 'dstport', 'localport'])),
  );
  setNat(
    event,
    'source',
    pick(p, ['sourcenatip', 'natsourceip', 'srcnatip']),
    toPort(pick(p, ['sourcenatport', 'srcnatport'])),
  );
  setNat(
    event,
    'destination',
    pick(p, ['destinationnatip', 'natdestinationip', 'dstnatip']),
    toPort(pick(p, ['destinationnatport', 'dstnatport'])),
  );
  const proto = pick(p, ['protocol', 'proto']);
  if (proto !== undefined) transport(event, proto);
  const obs = event.observer as Record<string, unknown>;
  const inZone = pick(p, ['sourcezone', 'srczone']);
  const outZone = pick(p, ['destinationzone', 'dstzone']);
  const inIf = pick(p, ['interface', 'ifname', 'inboundinterface']);
  const outIf = pick(p, ['outboundinterface']);
  if (inZone !== undefined || inIf !== undefined)
    obs.ingress = { ...(inZone ? { zone: inZone } : {}), ...(inIf ? { interface: { name: inIf } } : {}) };
  if (outZone !== undefined || outIf !== undefined)
    obs.egress = { ...(outZone ? { zone: outZone } : {}), ...(outIf ? { interface: { name: outIf } } : {}) };
  const rule = pick(p, ['rulename', 'policyname']);
  if (rule !== undefined) (event as Record<string, unknown>).rule = { name: rule };
  const command = pick(p, ['command', 'cmd']);
  if (command !== undefined) (event as Record<string, unknown>).huawei = { vrp: { command } };
  return true;
}

export const huaweiVrpDecoder: SyslogDecoder = { name: 'huawei_vrp', decode };
