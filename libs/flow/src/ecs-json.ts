import { communityIdInScope, communityIdScope } from './community-id';
import { flowRecordId } from './decode';
import { type FlowEcsOptions, flowToEcs } from './ecs';
import { Kind } from './elements/registry';
import { samplerOf, samplingRate } from './sets';
import { textRecord } from './records';
import type { FlowRecord, FlowValue, RecordLayout } from './types';
import { ipv4Text, isoTime, macEcs, macText } from './values';

/**
 * The flow collector's hot path: one decoded record → the JSON text of its ECS document, byte for byte
 * what `JSON.stringify(flowToEcs(rec, opts))` (plus `attachUnits`) gives, without building the document.
 * Everything that depends only on the template — which element feeds which ECS field, the JSON of every
 * key, whether a value can need escaping — is worked out once per layout (`planFor`); per record there is
 * no field-name lookup, no intermediate object and no generic serialisation. Options-data records and
 * templates the plan cannot describe (an element name twice) take the reference path.
 * `ecs-json.spec.ts` compares both paths on every record of the flow corpus.
 */

/** Unit attribution as JSON text (the collector caches it per address); undefined = no unit. */
export interface FlowJsonOptions extends FlowEcsOptions {
  /** `citysoc.unit`/`source_unit`/`destination_unit`, as `attachUnits` would set them. Absent = no units. */
  unitJson?: (ip: string) => string | undefined;
  /** `unitJson` of an IPv4 address held as a number (`numericAddresses`); absent = `unitJson` of its text. */
  unitJsonV4?: (ip: number) => string | undefined;
}

interface Plan {
  keys: string[];
  /** `"<key>":` for every key, and `,"<key>":`. */
  keyJson: string[];
  keyJsonComma: string[];
  /** 1 when a string value of that element never needs JSON escaping (addresses, hex, ISO times). */
  safe: Uint8Array;
  /**
   * ADDR_IP4 / ADDR_MAC for an IPv4 / MAC element: a number there is an address (`numericAddresses`),
   * written as text; 0 otherwise.
   */
  addr: Uint8Array;
  srcIp: Int32Array;
  dstIp: Int32Array;
  proto: Int32Array;
  srcPort: Int32Array;
  dstPort: Int32Array;
  fwdBytes: Int32Array;
  fwdPackets: Int32Array;
  revBytes: Int32Array;
  revPackets: Int32Array;
  srcMac: Int32Array;
  dstMac: Int32Array;
  ingress: Int32Array;
  egress: Int32Array;
  dir: Int32Array;
  icmpTypeCode: Int32Array;
  icmpType: Int32Array;
  icmpCode: Int32Array;
  /** The record may carry sampling elements / a sampler id (else samplingRate/samplerOf are skipped). */
  sampling: boolean;
  sampler: boolean;
  /** Index of sourceTransportPort, destinationTransportPort, octetDeltaCount, … (-1 = absent). */
  kSrcPort: number;
  kDstPort: number;
  kBytes: number;
  kPackets: number;
  kIngress: number;
  kEgress: number;
}

/** Kinds whose string form is made of address, hex or ISO-time characters only. */
const SAFE_KINDS = new Set<number>([
  Kind.Uint,
  Kind.Int,
  Kind.Float,
  Kind.Bool,
  Kind.Mac,
  Kind.Octets,
  Kind.Ip4,
  Kind.Ip6,
  Kind.TimeSec,
  Kind.TimeMs,
  Kind.TimeUs,
  Kind.TimeNs,
  Kind.Acl,
]);

const SAMPLING_KEYS = [
  'samplingPopulation',
  'samplingSize',
  'samplingInterval',
  'samplerRandomInterval',
  'samplingPacketInterval',
  'samplingPacketSpace',
];

const ADDR_IP4 = 1;
const ADDR_MAC = 2;

const plans = new WeakMap<RecordLayout, Plan | null>();

/** The plan of a layout, or null when its records must take the reference path. */
function planFor(layout: RecordLayout): Plan | null {
  let plan = plans.get(layout);
  if (plan === undefined) {
    plan = buildPlan(layout);
    plans.set(layout, plan);
  }
  return plan;
}

function buildPlan(layout: RecordLayout): Plan | null {
  const keys: string[] = [];
  const safe: number[] = [];
  const addr: number[] = [];
  const index = new Map<string, number>();
  for (let i = 0; i < layout.names.length; i++) {
    const kind = layout.kinds[i]! as Kind;
    if (kind === Kind.Skip) continue;
    const name = layout.names[i]!;
    // A name twice: the record object keeps the first position and the last value; not worth a plan.
    if (index.has(name)) return null;
    index.set(name, keys.length);
    keys.push(name);
    safe.push(SAFE_KINDS.has(kind) ? 1 : 0);
    addr.push(kind === Kind.Ip4 ? ADDR_IP4 : kind === Kind.Mac ? ADDR_MAC : 0);
  }
  const at = (...names: string[]) =>
    Int32Array.from(names.map((n) => index.get(n) ?? -1).filter((i) => i >= 0));
  const one = (name: string) => index.get(name) ?? -1;
  return {
    keys,
    keyJson: keys.map((k) => `${JSON.stringify(k)}:`),
    keyJsonComma: keys.map((k) => `,${JSON.stringify(k)}:`),
    safe: Uint8Array.from(safe),
    addr: Uint8Array.from(addr),
    srcIp: at('sourceIPv4Address', 'sourceIPv6Address'),
    dstIp: at('destinationIPv4Address', 'destinationIPv6Address'),
    proto: at('protocolIdentifier'),
    srcPort: at('sourceTransportPort', 'udpSourcePort', 'tcpSourcePort'),
    dstPort: at('destinationTransportPort', 'udpDestinationPort', 'tcpDestinationPort'),
    fwdBytes: at('octetDeltaCount', 'octetTotalCount', 'initiatorOctets', 'postOctetDeltaCount'),
    fwdPackets: at('packetDeltaCount', 'packetTotalCount', 'initiatorPackets', 'postPacketDeltaCount'),
    revBytes: at('29305/1', '29305/85', 'responderOctets'),
    revPackets: at('29305/2', '29305/86', 'responderPackets'),
    srcMac: at('sourceMacAddress'),
    dstMac: at('destinationMacAddress', 'postDestinationMacAddress'),
    ingress: at('ingressInterface', 'ingressPhysicalInterface'),
    egress: at('egressInterface', 'egressPhysicalInterface'),
    dir: at('flowDirection'),
    icmpTypeCode: at('icmpTypeCodeIPv4', 'icmpTypeCodeIPv6'),
    icmpType: at('icmpTypeIPv4', 'icmpTypeIPv6'),
    icmpCode: at('icmpCodeIPv4', 'icmpCodeIPv6'),
    sampling: SAMPLING_KEYS.some((k) => index.has(k)),
    sampler: index.has('selectorId') || index.has('samplerId'),
    kSrcPort: one('sourceTransportPort'),
    kDstPort: one('destinationTransportPort'),
    kBytes: one('octetDeltaCount'),
    kPackets: one('packetDeltaCount'),
    kIngress: one('ingressInterface'),
    kEgress: one('egressInterface'),
  };
}

// Per-record scratch: the record's values in plan order and which of them ECS fields carry.
let vals: FlowValue[] = [];
let carried = new Uint8Array(64);

/** Index of the first candidate holding a number (-1: none), as `num` in ecs.ts reads it. */
function firstNum(c: Int32Array): number {
  for (let i = 0; i < c.length; i++) if (typeof vals[c[i]!] === 'number') return c[i]!;
  return -1;
}

/** Index of the first candidate holding an address: text, or a number in an IPv4/MAC element (-1: none). */
function firstAddr(c: Int32Array, plan: Plan): number {
  for (let i = 0; i < c.length; i++) {
    const j = c[i]!;
    const v = vals[j];
    if (typeof v === 'string' || (typeof v === 'number' && plan.addr[j] !== 0)) return j;
  }
  return -1;
}

/** The unit JSON of one end of a flow: by number when the decoder kept it one and the caller looks numbers up. */
function endUnitJson(
  opts: FlowJsonOptions,
  raw: string | number | undefined,
  text: string | undefined,
): string | undefined {
  if (raw === undefined || opts.unitJson === undefined) return undefined;
  if (typeof raw === 'number' && opts.unitJsonV4 !== undefined) return opts.unitJsonV4(raw);
  return opts.unitJson(text!);
}

/** JSON string of the address at `j` (a dotted quad made from a number, or the text as decoded). */
function addrJson(j: number, plan: Plan): string {
  const v = vals[j]!;
  if (typeof v === 'number') return `"${ipv4Text(v)}"`;
  return plan.safe[j] === 1 ? `"${v as string}"` : JSON.stringify(v);
}

const numAt = (j: number): number | undefined => (j < 0 ? undefined : (vals[j] as number));

/** JSON of a number exactly as JSON.stringify writes it. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

function valueJson(v: FlowValue, safe: boolean): string {
  if (typeof v === 'number') return num(v);
  if (typeof v === 'string') return safe ? `"${v}"` : JSON.stringify(v);
  return v ? 'true' : 'false';
}

const TRANSPORT_JSON: Record<number, string> = {
  1: '"icmp"',
  2: '"igmp"',
  6: '"tcp"',
  17: '"udp"',
  41: '"ipv6"',
  47: '"gre"',
  50: '"esp"',
  51: '"ah"',
  58: '"ipv6-icmp"',
  89: '"ospf"',
  103: '"pim"',
  112: '"vrrp"',
  132: '"sctp"',
};

const PARSER_JSON: Record<number, string> = {
  5: '{"parser":"netflow5"',
  9: '{"parser":"netflow9"',
  10: '{"parser":"ipfix"',
};

// Per-datagram strings: the same receivedAt and exporter come with every record of a datagram.
let lastCreatedMs = NaN;
let lastCreated = '';
let lastExporter = '';
let lastExporterJson = '""';
let lastExportMs = NaN;
let lastExportIso = '';
let lastEndMs = NaN;
let lastEndIso = '';
/** The datagram (its receive time object) whose Community IDs are remembered (`communityIdInScope`). */
let lastReceivedAt: Date | undefined;

const EVENT_CONNECTION =
  '","kind":"event","category":["network"],"type":["connection"],"action":"network_flow","dataset":"flow","module":"netflow"';

/**
 * JSON text of the ECS document of `rec` (what `JSON.stringify(flowToEcs(rec, opts))` gives, with the
 * units of `opts.unitJson` as `attachUnits` sets them). `layout` is the record's entry in
 * `DecodeResult.layouts`.
 */
export function flowToEcsJson(rec: FlowRecord, layout: RecordLayout, opts: FlowJsonOptions): string {
  const plan = rec.options ? null : planFor(layout);
  if (plan === null) return referenceJson(rec, layout, opts);
  const f = rec.fields;
  const keys = plan.keys;
  const m = keys.length;
  if (vals.length < m) vals = new Array<FlowValue>(m);
  if (carried.length < m) carried = new Uint8Array(m * 2);
  for (let j = 0; j < m; j++) {
    const v = f[keys[j]!];
    // Only a record built by hand can lack an element of its layout; the reference path copes with it.
    if (v === undefined) return referenceJson(rec, layout, opts);
    vals[j] = v;
  }

  const facts = opts.facts;
  const sampler = plan.sampler ? samplerOf(f) : undefined;
  const rate =
    (plan.sampling ? samplingRate(f) : undefined) ??
    (sampler !== undefined ? facts?.samplers?.[sampler] : undefined) ??
    facts?.samplingRate ??
    1;

  // Addresses are formatted once here, where the document needs text (the decoder may keep them as
  // numbers); the Community ID hash takes the raw values (an IPv4 number's bytes need no parsing).
  const jSrcIp = firstAddr(plan.srcIp, plan);
  const jDstIp = firstAddr(plan.dstIp, plan);
  const srcRaw = jSrcIp < 0 ? undefined : (vals[jSrcIp] as string | number);
  const dstRaw = jDstIp < 0 ? undefined : (vals[jDstIp] as string | number);
  const srcIpJson = jSrcIp < 0 ? '' : addrJson(jSrcIp, plan);
  const dstIpJson = jDstIp < 0 ? '' : addrJson(jDstIp, plan);
  const srcIp =
    srcRaw === undefined ? undefined : typeof srcRaw === 'number' ? srcIpJson.slice(1, -1) : srcRaw;
  const dstIp =
    dstRaw === undefined ? undefined : typeof dstRaw === 'number' ? dstIpJson.slice(1, -1) : dstRaw;
  const proto = numAt(firstNum(plan.proto));
  const jSrcPort = firstNum(plan.srcPort);
  const jDstPort = firstNum(plan.dstPort);
  let srcPort = numAt(jSrcPort);
  let dstPort = numAt(jDstPort);
  const jBytes = firstNum(plan.fwdBytes);
  const jPackets = firstNum(plan.fwdPackets);
  const fwdBytes = numAt(jBytes);
  const fwdPackets = numAt(jPackets);
  const revBytes = numAt(firstNum(plan.revBytes));
  const revPackets = numAt(firstNum(plan.revPackets));
  const icmp = proto === 1 || proto === 58;

  if (opts.receivedAt !== lastReceivedAt) {
    lastReceivedAt = opts.receivedAt;
    communityIdScope();
  }
  const receivedMs = opts.receivedAt.getTime();
  if (receivedMs !== lastCreatedMs) {
    lastCreatedMs = receivedMs;
    lastCreated = isoTime(receivedMs);
  }
  if (rec.exporter !== lastExporter) {
    lastExporter = rec.exporter;
    lastExporterJson = JSON.stringify(rec.exporter);
  }
  const start = rec.start;
  const end = rec.end;
  if (rec.exportTime !== lastExportMs) {
    lastExportMs = rec.exportTime;
    lastExportIso = isoTime(rec.exportTime);
  }
  // One ISO string per distinct time: @timestamp is the end (else the export time), start often equals end,
  // and records exported together (an expiry sweep, the two directions of a connection) often end together.
  if (end !== undefined && end !== lastEndMs) {
    lastEndMs = end;
    lastEndIso = isoTime(end);
  }
  const endIso = end !== undefined ? lastEndIso : undefined;
  const startIso = start === undefined ? undefined : start === end ? endIso : isoTime(start);
  let s = `{"@timestamp":"${endIso ?? lastExportIso}","event":{"id":"${flowRecordId(rec)}","created":"${lastCreated}${EVENT_CONNECTION}`;
  if (startIso !== undefined) s += `,"start":"${startIso}"`;
  if (endIso !== undefined) s += `,"end":"${endIso}"`;
  if (start !== undefined && end !== undefined && end >= start)
    s += `,"duration":${num((end - start) * 1_000_000)}`;

  // ICMP type/code: IPFIX has its own elements; v5/v9 exporters put type*256+code in the destination port.
  if (icmp) {
    const tc = numAt(firstNum(plan.icmpTypeCode)) ?? dstPort;
    const type = numAt(firstNum(plan.icmpType)) ?? (tc !== undefined ? tc >> 8 : undefined);
    const code = numAt(firstNum(plan.icmpCode)) ?? (tc !== undefined ? tc & 0xff : undefined);
    srcPort = type;
    dstPort = code;
  }
  const jIngress = firstNum(plan.ingress);
  const jEgress = firstNum(plan.egress);
  const ingress = numAt(jIngress);
  const egress = numAt(jEgress);
  const dir = numAt(firstNum(plan.dir));
  const srcBytes = fwdBytes !== undefined ? Math.round(fwdBytes * rate) : undefined;
  const srcPackets = fwdPackets !== undefined ? Math.round(fwdPackets * rate) : undefined;

  // Elements the document carries verbatim elsewhere are left out of flow.fields (ecs.ts, ECS_CARRIED).
  if (jSrcIp >= 0) carried[jSrcIp] = 1;
  if (jDstIp >= 0) carried[jDstIp] = 1;
  if (!icmp) {
    if (jSrcPort >= 0 && jSrcPort === plan.kSrcPort && !Number.isNaN(srcPort)) carried[jSrcPort] = 1;
    if (jDstPort >= 0 && jDstPort === plan.kDstPort && !Number.isNaN(dstPort)) carried[jDstPort] = 1;
  }
  if (proto !== undefined && !Number.isNaN(proto)) carried[plan.proto[0]!] = 1;
  if (jBytes >= 0 && jBytes === plan.kBytes && srcBytes === fwdBytes) carried[jBytes] = 1;
  if (jPackets >= 0 && jPackets === plan.kPackets && srcPackets === fwdPackets) carried[jPackets] = 1;
  if (jIngress >= 0 && jIngress === plan.kIngress && !Number.isNaN(ingress)) carried[jIngress] = 1;
  if (jEgress >= 0 && jEgress === plan.kEgress && !Number.isNaN(egress)) carried[jEgress] = 1;
  if (dir === 0 || dir === 1) carried[plan.dir[0]!] = 1;

  s += `},"flow":{"observation_domain_id":${num(rec.domain)},"template_id":${rec.templateId},"sequence":${num(rec.sequence)},"export_time":"${lastExportIso}","fields":{`;
  let keyJson = plan.keyJson;
  const safe = plan.safe;
  for (let j = 0; j < m; j++) {
    if (carried[j] === 1) {
      carried[j] = 0;
      continue;
    }
    const v = vals[j]!;
    s +=
      keyJson[j]! +
      (typeof v === 'number' && plan.addr[j] !== 0
        ? `"${plan.addr[j] === ADDR_IP4 ? ipv4Text(v) : macText(v)}"`
        : valueJson(v, safe[j] === 1));
    keyJson = plan.keyJsonComma;
  }
  s += rate !== 1 ? `},"sampling_rate":${num(rate)}},"citysoc":` : '}},"citysoc":';
  s += PARSER_JSON[rec.version] ?? '{"parser":"flow"';
  if (opts.unitJson) {
    const unit = opts.unitJson(rec.exporter);
    if (unit !== undefined) s += `,"unit":${unit}`;
    const su = endUnitJson(opts, srcRaw, srcIp);
    if (su !== undefined) s += `,"source_unit":${su}`;
    const du = endUnitJson(opts, dstRaw, dstIp);
    if (du !== undefined) s += `,"destination_unit":${du}`;
  }
  s += `},"observer":{"ip":[${lastExporterJson}],"type":"flow-exporter"`;
  const names = facts?.interfaces;
  if (ingress !== undefined) s += `,"ingress":${iface(ingress, names)}`;
  if (egress !== undefined) s += `,"egress":${iface(egress, names)}`;

  s += '},"source":{';
  let sep = '';
  if (srcIp !== undefined) {
    s += `"ip":${srcIpJson}`;
    sep = ',';
  }
  if (srcPort !== undefined && !icmp) {
    s += `${sep}"port":${num(srcPort)}`;
    sep = ',';
  }
  const jSrcMac = firstAddr(plan.srcMac, plan);
  if (jSrcMac >= 0) {
    s += `${sep}"mac":${macJson(jSrcMac, plan)}`;
    sep = ',';
  }
  if (srcBytes !== undefined) {
    s += `${sep}"bytes":${num(srcBytes)}`;
    sep = ',';
  }
  if (srcPackets !== undefined) s += `${sep}"packets":${num(srcPackets)}`;

  s += '},"destination":{';
  sep = '';
  if (dstIp !== undefined) {
    s += `"ip":${dstIpJson}`;
    sep = ',';
  }
  if (dstPort !== undefined && !icmp) {
    s += `${sep}"port":${num(dstPort)}`;
    sep = ',';
  }
  const jDstMac = firstAddr(plan.dstMac, plan);
  if (jDstMac >= 0) {
    s += `${sep}"mac":${macJson(jDstMac, plan)}`;
    sep = ',';
  }
  if (revBytes !== undefined) {
    s += `${sep}"bytes":${num(Math.round(revBytes * rate))}`;
    sep = ',';
  }
  if (revPackets !== undefined) s += `${sep}"packets":${num(Math.round(revPackets * rate))}`;

  s += '},"network":{';
  sep = '';
  if (proto !== undefined) {
    s += `"iana_number":"${String(proto)}"`;
    const t = TRANSPORT_JSON[proto];
    if (t !== undefined) s += `,"transport":${t}`;
    sep = ',';
  }
  if (fwdBytes !== undefined || revBytes !== undefined) {
    s += `${sep}"bytes":${num(Math.round(((fwdBytes ?? 0) + (revBytes ?? 0)) * rate))}`;
    sep = ',';
  }
  if (fwdPackets !== undefined || revPackets !== undefined) {
    s += `${sep}"packets":${num(Math.round(((fwdPackets ?? 0) + (revPackets ?? 0)) * rate))}`;
    sep = ',';
  }
  s += `${sep}"direction":${dir === 0 ? '"ingress"' : dir === 1 ? '"egress"' : '"unknown"'}`;
  if (srcIp !== undefined) s += srcIp.includes(':') ? ',"type":"ipv6"' : ',"type":"ipv4"';
  if (srcRaw !== undefined && dstRaw !== undefined && proto !== undefined) {
    const cid = communityIdInScope(srcRaw, dstRaw, proto, srcPort ?? 0, dstPort ?? 0);
    if (cid !== undefined) s += `,"community_id":"${cid}"`;
  }
  s += '}';

  if (srcIp !== undefined && dstIp !== undefined)
    s +=
      srcIp === dstIp
        ? `,"related":{"ip":[${srcIpJson}]}}`
        : `,"related":{"ip":[${srcIpJson},${dstIpJson}]}}`;
  else if (srcIp !== undefined) s += `,"related":{"ip":[${srcIpJson}]}}`;
  else if (dstIp !== undefined) s += `,"related":{"ip":[${dstIpJson}]}}`;
  else s += '}';
  return s;
}

/** ECS wants MACs upper case with dashes (`00-50-56-91-56-86`). */
function macJson(j: number, plan: Plan): string {
  const v = vals[j]!;
  if (typeof v === 'number') return `"${macEcs(v)}"`;
  const m = (vals[j] as string).replaceAll(':', '-').toUpperCase();
  return plan.safe[j] === 1 ? `"${m}"` : JSON.stringify(m);
}

function iface(index: number, names: Record<number, string> | undefined): string {
  const name = names?.[index];
  return name === undefined
    ? `{"interface":{"id":"${String(index)}"}}`
    : `{"interface":{"id":"${String(index)}","name":${JSON.stringify(name)}}}`;
}

/** The reference path: the document as an object, units attached the way `attachUnits` does, stringified. */
function referenceJson(rec: FlowRecord, layout: RecordLayout, opts: FlowJsonOptions): string {
  const doc = flowToEcs(textRecord(rec, layout), opts);
  if (opts.unitJson) {
    const citysoc = doc.citysoc as Record<string, unknown>;
    const unit = opts.unitJson(rec.exporter);
    if (unit !== undefined) citysoc['unit'] = JSON.parse(unit) as unknown;
    const su = doc.source?.ip !== undefined ? opts.unitJson(doc.source.ip) : undefined;
    if (su !== undefined) citysoc['source_unit'] = JSON.parse(su) as unknown;
    const du = doc.destination?.ip !== undefined ? opts.unitJson(doc.destination.ip) : undefined;
    if (du !== undefined) citysoc['destination_unit'] = JSON.parse(du) as unknown;
  }
  return JSON.stringify(doc);
}
