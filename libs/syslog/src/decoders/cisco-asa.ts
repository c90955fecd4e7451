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
  toPort,
  transport,
} from './util';

/**
 * Cisco ASA / FTD (and PIX) `%ASA-6-302013: …` messages, mapped as Elastic's cisco_asa/cisco_ftd pipelines
 * do: the message id is event.code, the EMBLEM level event.severity, and the common connection, deny and
 * AAA messages fill source/destination (with the mapped addresses as NAT) and the event categorization.
 */

const LEVEL = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notification',
  'informational',
  'debug',
];

type Shape = 'deny' | 'allow' | 'start' | 'end' | 'auth-fail' | 'auth-ok' | 'info';

interface Rule {
  re: RegExp;
  action: string;
  shape: Shape;
  /** `inbound`/`outbound` word decides which side initiated (ASA writes the outside host first). */
  swapOutbound?: boolean;
}

// Named groups: dir, proto, sif, src, sport, snat, snatport, dif, dst, dport, dnat, dnatport, user, verdict.
const IF_ADDR = (p: 's' | 'd'): string =>
  `(?:(?<${p}if>[^\\s:]+):)?(?<${p === 's' ? 'src' : 'dst'}>[0-9A-Fa-f.:]+)(?:/(?<${p}port>\\d+))?`;
const NAT = (p: 's' | 'd'): string => `(?: \\((?<${p}nat>[0-9A-Fa-f.:]+)(?:/(?<${p}natport>\\d+))?\\))?`;

const RULES: Record<string, Rule[]> = {
  '106001': [
    {
      re: /^(?<dir>\w+) (?<proto>\w+) connection denied from (?<src>\S+?)\/(?<sport>\d+) to (?<dst>\S+?)\/(?<dport>\d+) flags .* on interface (?<sif>\S+)/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '106006': [
    {
      re: /^Deny (?<dir>\w+) (?<proto>\w+) from (?<src>\S+?)\/(?<sport>\d+) to (?<dst>\S+?)\/(?<dport>\d+) on interface (?<sif>\S+)/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '106007': [
    {
      re: /^Deny (?<dir>\w+) (?<proto>\w+) from (?<src>\S+?)\/(?<sport>\d+) to (?<dst>\S+?)\/(?<dport>\d+)/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '106010': [
    {
      re: /^Deny (?<dir>\w+) (?:protocol (?<iana>\d+)|(?<proto>\S+)) src (?<sif>[^\s:]+):(?<src>[^\s/]+)(?:\/(?<sport>\d+))? .*?dst (?<dif>[^\s:]+):(?<dst>[^\s/]+)(?:\/(?<dport>\d+))?/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '106014': [
    {
      re: /^Deny (?<dir>\w+) (?<proto>\S+) src (?<sif>[^\s:]+):(?<src>[^\s/]+) .*?dst (?<dif>[^\s:]+):(?<dst>[^\s/( ]+)/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '106015': [
    {
      re: /^Deny (?<proto>\S+) \S+ \S+ from (?<src>\S+?)\/(?<sport>\d+) to (?<dst>\S+?)\/(?<dport>\d+) flags .* on interface (?<sif>\S+)/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '106023': [
    {
      re: /^Deny (?:protocol (?<iana>\d+)|(?<proto>\S+)) src (?<sif>[^:]+):(?<src>[^\s/]+)(?:\/(?<sport>\d+))?.*? dst (?<dif>[^:]+):(?<dst>[^\s/(]+)(?:\/(?<dport>\d+))?/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '106100': [
    {
      re: /^access-list \S+ (?<verdict>\w+) (?<proto>\w+) (?<sif>[^/\s]+)\/(?<src>[^(\s]+)\((?<sport>\d+)\).*?-> (?<dif>[^/\s]+)\/(?<dst>[^(\s]+)\((?<dport>\d+)\)/,
      action: 'firewall-rule',
      shape: 'allow',
    },
  ],
  '302013': [
    {
      re: new RegExp(
        `^Built (?<dir>inbound|outbound) (?<proto>\\w+) connection \\S+ for ${IF_ADDR('s')}${NAT('s')}(?: \\([^)]*\\))? to ${IF_ADDR('d')}${NAT('d')}`,
      ),
      action: 'flow-creation',
      shape: 'start',
      swapOutbound: true,
    },
  ],
  '302014': [
    {
      re: new RegExp(
        `^Teardown (?<proto>\\w+) connection \\S+ for ${IF_ADDR('s')}(?: \\([^)]*\\))? to ${IF_ADDR('d')}`,
      ),
      action: 'flow-expiration',
      shape: 'end',
    },
  ],
  '302020': [
    {
      re: /^Built (?<dir>inbound|outbound) (?<proto>\w+) connection for faddr (?<faddr>[^\s/]+)\/\d+(?: \([^)]*\))? gaddr (?<gaddr>[^\s/]+)\/\d+ laddr (?<laddr>[^\s/]+)\/\d+/,
      action: 'flow-creation',
      shape: 'start',
    },
  ],
  '302021': [
    {
      re: /^Teardown (?<proto>\w+) connection for faddr (?<faddr>[^\s/]+)\/\d+(?: \([^)]*\))? gaddr (?<gaddr>[^\s/]+)\/\d+ laddr (?<laddr>[^\s/]+)\/\d+/,
      action: 'flow-expiration',
      shape: 'end',
    },
  ],
  '113004': [
    {
      re: /^AAA user \w+ Successful : server = +(?<dst>\S+) : user = +(?<user>\S+)/,
      action: 'logon-success',
      shape: 'auth-ok',
    },
  ],
  '113005': [
    {
      re: /^AAA user \w+ Rejected : reason = .*? : server = +(?<dst>\S+) : user = +(?<user>\S+?)(?: : user IP = +(?<src>\S+))?$/,
      action: 'logon-failed',
      shape: 'auth-fail',
    },
  ],
  '605004': [
    {
      re: /^Login denied from (?<src>[^\s/]+)\/(?<sport>\d+) to (?<dif>[^:\s]+):(?<dst>[^\s/]+)\/(?<dproto>\S+) for user "(?<user>[^"]*)"/,
      action: 'logon-failed',
      shape: 'auth-fail',
    },
  ],
  '605005': [
    {
      re: /^Login permitted from (?<src>[^\s/]+)\/(?<sport>\d+) to (?<dif>[^:\s]+):(?<dst>[^\s/]+)\/(?<dproto>\S+) for user "(?<user>[^"]*)"/,
      action: 'logon-success',
      shape: 'auth-ok',
    },
  ],
  '611101': [
    {
      re: /^User authentication succeeded: IP address: (?<src>[^,]+), Uname: (?<user>\S+)/,
      action: 'logon-success',
      shape: 'auth-ok',
    },
  ],
  '611102': [
    {
      re: /^User authentication failed: IP address: (?<src>[^,]+), Uname: (?<user>\S+)/,
      action: 'logon-failed',
      shape: 'auth-fail',
    },
  ],
  '710003': [
    {
      re: /^(?<proto>\S+) (?:access|request) (?:denied|discarded) (?:by ACL )?from (?<src>[^\s/]+)\/(?<sport>\d+) to (?<dif>[^:\s]+):(?<dst>[^\s/]+)\/(?<dport>\d+)/,
      action: 'firewall-rule',
      shape: 'deny',
    },
  ],
  '111008': [{ re: /^User '(?<user>[^']+)' executed the/, action: 'command-executed', shape: 'info' }],
  '111010': [
    {
      re: /^User '(?<user>[^']+)', running '[^']*' from IP (?<src>\S+), executed/,
      action: 'command-executed',
      shape: 'info',
    },
  ],
};
RULES['302015'] = RULES['302013']!;
RULES['302016'] = RULES['302014']!;
RULES['302035'] = RULES['302013']!;
RULES['302036'] = RULES['302014']!;
RULES['710005'] = RULES['710003']!;
RULES['710002'] = [{ ...RULES['710003']![0]!, shape: 'allow' }];
RULES['113015'] = [
  {
    re: /^AAA user \w+ Rejected : reason = .*? : local database : user = +(?<user>\S+?)(?: : user IP = +(?<src>\S+))?$/,
    action: 'logon-failed',
    shape: 'auth-fail',
  },
];

const TYPES: Record<Shape, { category: string[]; type: string[]; outcome?: 'success' | 'failure' }> = {
  deny: { category: ['network'], type: ['connection', 'denied'], outcome: 'failure' },
  allow: { category: ['network'], type: ['connection', 'allowed'], outcome: 'success' },
  start: { category: ['network'], type: ['connection', 'start'], outcome: 'success' },
  end: { category: ['network'], type: ['connection', 'end'], outcome: 'success' },
  'auth-fail': { category: ['authentication'], type: ['info'], outcome: 'failure' },
  'auth-ok': { category: ['authentication'], type: ['info'], outcome: 'success' },
  info: { category: ['network'], type: ['info'] },
};

/** Finds `%ASA-`, `%FTD-` or `%PIX-` in the first bytes; returns the index of `%` or -1. */
function findTag(s: string): number {
  const limit = Math.min(s.length, 96);
  for (let i = s.indexOf('%'); i >= 0 && i < limit; i = s.indexOf('%', i + 1)) {
    const a = s.charCodeAt(i + 1);
    if (s.charCodeAt(i + 4) !== 0x2d) continue;
    if (
      (a === 0x41 && s.startsWith('ASA', i + 1)) ||
      (a === 0x46 && s.startsWith('FTD', i + 1)) ||
      (a === 0x50 && s.startsWith('PIX', i + 1))
    )
      return i;
  }
  return -1;
}

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const s = fields.msgPart;
  const at = findTag(s);
  if (at < 0) return false;
  // `%FTD-6-113005: %ASA-6-113005: …`: FTD may repeat the ASA label; the first one names the product.
  const m = /^%(ASA|FTD|PIX)-(?:[^0-9-]+-)?([0-7])-(\d{6}):?\s*(?:%(?:ASA|FTD)-\d-\d{6}:\s*)?/.exec(
    s.slice(at),
  );
  if (m === null) return false;
  const product = m[1] === 'FTD' ? 'ftd' : 'asa';
  const severity = Number(m[2]);
  const id = m[3]!;
  let message = s.slice(at + m[0].length);
  // `message repeated 2 times: [ Deny … ]`: the repeated message is the event.
  const rep = /^message repeated \d+ times: \[\s*(.*?)\s*\]$/.exec(message);
  if (rep !== null) message = rep[1]!;

  claimEndpoints(event);
  observer(event, 'Cisco', product, product === 'ftd' ? 'idps' : 'firewall');
  observerFromHost(event);
  event.event.code = id;
  event.event.severity = severity;
  event.log = { ...event.log, level: LEVEL[severity] };
  event.message = message;
  categorize(event, ['network'], undefined);
  event.event.action = 'firewall-rule';

  const rules = RULES[id];
  if (rules === undefined) return true;
  for (const rule of rules) {
    const g = rule.re.exec(message)?.groups;
    if (g === undefined) continue;
    apply(event, rule, g);
    break;
  }
  return true;
}

function apply(event: EcsEvent, rule: Rule, g: Record<string, string | undefined>): void {
  let shape = rule.shape;
  if (g.verdict !== undefined) shape = /^(denied|deny|dropped)$/i.test(g.verdict) ? 'deny' : 'allow';
  const t = TYPES[shape];
  categorize(event, t.category, t.type);
  event.event.action = rule.action;
  if (t.outcome !== undefined) event.event.outcome = t.outcome;
  const dir = g.dir?.toLowerCase();
  if (dir === 'inbound' || dir === 'outbound') event.network = { ...event.network, direction: dir };
  if (g.proto !== undefined) transport(event, g.proto);
  else if (g.iana !== undefined) transport(event, g.iana);

  if (g.faddr !== undefined) {
    // ICMP (302020/1): faddr is the outside host, laddr the inside one, gaddr its global (mapped) address.
    const outbound = dir === 'outbound';
    setAddr(event, outbound ? 'destination' : 'source', g.faddr);
    setAddr(event, outbound ? 'source' : 'destination', g.laddr);
    if (g.gaddr !== g.laddr) setNat(event, outbound ? 'source' : 'destination', g.gaddr);
  } else {
    const swap = rule.swapOutbound === true && dir === 'outbound';
    const [a, b] = swap ? (['destination', 'source'] as const) : (['source', 'destination'] as const);
    setAddr(event, a, g.src, toPort(g.sport));
    if (g.snat !== undefined && (g.snat !== g.src || g.snatport !== g.sport)) {
      setNat(event, a, g.snat, g.snatport !== g.sport ? toPort(g.snatport) : undefined);
    }
    setAddr(event, b, g.dst, toPort(g.dport));
    if (g.dnat !== undefined && (g.dnat !== g.dst || g.dnatport !== g.dport)) {
      setNat(event, b, g.dnat, g.dnatport !== g.dport ? toPort(g.dnatport) : undefined);
    }
    const ingress = swap ? g.dif : g.sif;
    const egress = swap ? g.sif : g.dif;
    if (ingress !== undefined || egress !== undefined) {
      const obs = event.observer as Record<string, unknown>;
      if (ingress !== undefined) obs.ingress = { interface: { name: ingress } };
      if (egress !== undefined) obs.egress = { interface: { name: egress } };
    }
  }
  if (g.user !== undefined) {
    const ep = event.source !== undefined ? endpoint(event, 'source') : undefined;
    if (ep !== undefined && (rule.shape === 'auth-fail' || rule.shape === 'auth-ok'))
      ep.user = { name: g.user };
    event.user = { ...event.user, name: g.user };
    addRelatedUser(event, g.user);
  }
}

export const ciscoAsaDecoder: SyslogDecoder = { name: 'cisco_asa', decode };
