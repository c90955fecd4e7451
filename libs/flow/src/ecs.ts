import type { EcsEvent } from '@citysoc/ecs';
import { communityId } from './community-id';
import { flowRecordId } from './decode';
import { samplerOf, samplingRate } from './sets';
import type { ExporterFacts } from './templates';
import type { FlowRecord, FlowValue } from './types';
import { isoTime } from './values';

const TRANSPORT: Record<number, string> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  41: 'ipv6',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'ipv6-icmp',
  89: 'ospf',
  103: 'pim',
  112: 'vrrp',
  132: 'sctp',
};

const PARSER: Record<number, string> = { 5: 'netflow5', 9: 'netflow9', 10: 'ipfix' };

export interface FlowEcsOptions {
  receivedAt: Date;
  /** Facts from the exporter's options data (sampling rate); see `TemplateCache.facts`. */
  facts?: ExporterFacts;
}

/**
 * Extra ECS fields a flow document carries beyond `EcsEvent`'s typed subset.
 *
 * `flow` is the documented home of the raw decode: `flow.fields` holds the elements as the exporter sent
 * them (IANA names, `"<pen>/<id>"` enterprise keys, `"v9/<id>"` v9 vendor types; counters NOT
 * sampling-corrected), next to the header facts, except the few that an ECS field of the same document
 * carries with exactly the same value (`ECS_CARRIED`): each is written once, and the element is restored
 * from its ECS field. ECS `network.bytes/packets` and `source/destination.bytes/packets` ARE multiplied by
 * the sampling rate when one is known (`flow.sampling_rate`).
 */
export interface FlowEcsExtras {
  event: EcsEvent['event'] & { start?: string; end?: string; duration?: number };
  flow: {
    observation_domain_id: number;
    template_id: number;
    sequence: number;
    export_time: string;
    sampling_rate?: number;
    fields: Record<string, FlowValue>;
  };
}

/**
 * Elements left out of `flow.fields` when the document carries them verbatim elsewhere (the flow
 * collector's profile: the duplicates were a fifth of every document's bytes). An element is left out
 * only when it is the one the ECS field was read from (the first candidate present) and the ECS value
 * equals it exactly, so `flow.fields` plus these fields still give every element back:
 *
 * | element                                          | carried by                                        |
 * | ------------------------------------------------ | ------------------------------------------------- |
 * | `sourceIPv4Address`, `sourceIPv6Address`         | `source.ip`                                       |
 * | `destinationIPv4Address`, `destinationIPv6Address` | `destination.ip`                                |
 * | `sourceTransportPort`, `destinationTransportPort` | `source.port`, `destination.port` (not ICMP)     |
 * | `protocolIdentifier`                             | `network.iana_number` (as a string)               |
 * | `octetDeltaCount`, `packetDeltaCount`            | `source.bytes`, `source.packets` (sampling rate 1) |
 * | `ingressInterface`, `egressInterface`            | `observer.ingress/egress.interface.id` (string)   |
 * | `flowDirection` 0 / 1                            | `network.direction` `ingress` / `egress`          |
 *
 * Options-data records keep every element (they are few and their ECS mapping is partial).
 */
export const ECS_CARRIED: readonly string[] = [
  'sourceIPv4Address',
  'sourceIPv6Address',
  'destinationIPv4Address',
  'destinationIPv6Address',
  'sourceTransportPort',
  'destinationTransportPort',
  'protocolIdentifier',
  'octetDeltaCount',
  'packetDeltaCount',
  'ingressInterface',
  'egressInterface',
  'flowDirection',
];

const CARRIED_SCRATCH = new Set<string>();

/**
 * Every element of a flow document's record: `flow.fields` with the elements ECS carries (ECS_CARRIED)
 * put back from their ECS fields. Works on a parsed stored document too (plain JSON).
 */
export function fullFlowFields(doc: EcsEvent & FlowEcsExtras): Record<string, FlowValue> {
  const f = doc.flow.fields;
  if (isOptionsDoc(doc)) return { ...f };
  const out: Record<string, FlowValue> = {};
  const ip = (v: string | undefined, v4: string, v6: string) => {
    if (v === undefined) return;
    // source.ip is the IPv4 element when there is one (see flowToEcs), so its family names the element.
    const key = v.includes(':') ? v6 : v4;
    if (f[key] === undefined) out[key] = v;
  };
  ip(doc.source?.ip, 'sourceIPv4Address', 'sourceIPv6Address');
  ip(doc.destination?.ip, 'destinationIPv4Address', 'destinationIPv6Address');
  const icmp = doc.network?.iana_number === '1' || doc.network?.iana_number === '58';
  const port = (v: number | undefined, key: string, others: string[]) => {
    if (v !== undefined && !icmp && f[key] === undefined && others.every((o) => typeof f[o] !== 'number'))
      out[key] = v;
  };
  port(doc.source?.port, 'sourceTransportPort', ['udpSourcePort', 'tcpSourcePort']);
  port(doc.destination?.port, 'destinationTransportPort', ['udpDestinationPort', 'tcpDestinationPort']);
  if (doc.network?.iana_number !== undefined && f['protocolIdentifier'] === undefined)
    out['protocolIdentifier'] = Number(doc.network.iana_number);
  const rate1 = doc.flow.sampling_rate === undefined;
  const counter = (v: number | undefined, key: string, others: string[]) => {
    if (v !== undefined && rate1 && f[key] === undefined && others.every((o) => typeof f[o] !== 'number'))
      out[key] = v;
  };
  counter(doc.source?.bytes, 'octetDeltaCount', [
    'octetTotalCount',
    'initiatorOctets',
    'postOctetDeltaCount',
  ]);
  counter(doc.source?.packets, 'packetDeltaCount', [
    'packetTotalCount',
    'initiatorPackets',
    'postPacketDeltaCount',
  ]);
  const obs = doc.observer as
    { ingress?: { interface: { id: string } }; egress?: { interface: { id: string } } } | undefined;
  if (
    obs?.ingress &&
    f['ingressInterface'] === undefined &&
    typeof f['ingressPhysicalInterface'] !== 'number'
  )
    out['ingressInterface'] = Number(obs.ingress.interface.id);
  if (obs?.egress && f['egressInterface'] === undefined && typeof f['egressPhysicalInterface'] !== 'number')
    out['egressInterface'] = Number(obs.egress.interface.id);
  const dir = doc.network?.direction;
  if ((dir === 'ingress' || dir === 'egress') && f['flowDirection'] === undefined)
    out['flowDirection'] = dir === 'ingress' ? 0 : 1;
  return Object.assign(out, f);
}

/**
 * Header facts the document states once, elsewhere than under `flow` (the collector's profile: every
 * byte of a flow document is written, copied twice and stored by JetStream 250,000 times a second):
 * - the exporter is `observer.ip[0]`;
 * - the version is `citysoc.parser` (`netflow5` = 5, `netflow9` = 9, `ipfix` = 10; `flowVersionOf`);
 * - options data is `event.type: [info]` (flow records are `[connection]`; `isOptionsDoc`).
 */
export function flowVersionOf(doc: { citysoc?: unknown }): number | undefined {
  const parser = (doc.citysoc as { parser?: string } | undefined)?.parser;
  return parser === undefined ? undefined : VERSION_OF_PARSER[parser];
}

const VERSION_OF_PARSER: Record<string, number> = { netflow5: 5, netflow9: 9, ipfix: 10 };

/** Whether a flow document carries an options-data record (exporter facts), not a flow. */
export function isOptionsDoc(doc: { event?: { type?: string[] } }): boolean {
  return doc.event?.type?.[0] === 'info';
}

/** `fields` without the elements named in `carried` (insertion order kept). */
function without(f: Record<string, FlowValue>, carried: Set<string>): Record<string, FlowValue> {
  if (carried.size === 0) return f;
  const out: Record<string, FlowValue> = {};
  for (const k in f) if (!carried.has(k)) out[k] = f[k]!;
  return out;
}

/** The key `num`/`str` would read: the first of `keys` holding a value of the given type. */
function firstKey(
  f: Record<string, FlowValue>,
  type: 'number' | 'string',
  ...keys: string[]
): string | undefined {
  for (const k of keys) if (typeof f[k] === type) return k;
  return undefined;
}

function num(f: Record<string, FlowValue>, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = f[k];
    if (typeof v === 'number') return v;
  }
  return undefined;
}

function str(f: Record<string, FlowValue>, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = f[k];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/** Maps one decoded record to an ECS event (`event.kind: event`, `event.category: [network]`). */
export function flowToEcs(rec: FlowRecord, opts: FlowEcsOptions): EcsEvent & FlowEcsExtras {
  const f = rec.fields;
  const sampler = samplerOf(f);
  const rate =
    samplingRate(f) ??
    (sampler !== undefined ? opts.facts?.samplers?.[sampler] : undefined) ??
    opts.facts?.samplingRate ??
    1;

  const srcIp = str(f, 'sourceIPv4Address', 'sourceIPv6Address');
  const dstIp = str(f, 'destinationIPv4Address', 'destinationIPv6Address');
  const proto = num(f, 'protocolIdentifier');
  let srcPort = num(f, 'sourceTransportPort', 'udpSourcePort', 'tcpSourcePort');
  let dstPort = num(f, 'destinationTransportPort', 'udpDestinationPort', 'tcpDestinationPort');
  const fwdBytes = num(f, 'octetDeltaCount', 'octetTotalCount', 'initiatorOctets', 'postOctetDeltaCount');
  const fwdPackets = num(
    f,
    'packetDeltaCount',
    'packetTotalCount',
    'initiatorPackets',
    'postPacketDeltaCount',
  );
  // Biflows: RFC 5103 reverse elements, or the responder counters of NSEL-style exporters.
  const revBytes = num(f, '29305/1', '29305/85', 'responderOctets');
  const revPackets = num(f, '29305/2', '29305/86', 'responderPackets');

  const start = rec.start;
  const end = rec.end;
  const event: EcsEvent['event'] & { start?: string; end?: string; duration?: number } = {
    id: flowRecordId(rec),
    created: isoTime(opts.receivedAt.getTime()),
    kind: 'event',
    category: ['network'],
    type: rec.options ? ['info'] : ['connection'],
    action: rec.options ? 'flow_options' : 'network_flow',
    dataset: 'flow',
    module: 'netflow',
  };
  if (start !== undefined) event.start = isoTime(start);
  if (end !== undefined) event.end = isoTime(end);
  if (start !== undefined && end !== undefined && end >= start) event.duration = (end - start) * 1_000_000;

  const doc: EcsEvent & FlowEcsExtras = {
    '@timestamp': isoTime(end ?? rec.exportTime),
    event,
    flow: {
      observation_domain_id: rec.domain,
      template_id: rec.templateId,
      sequence: rec.sequence,
      export_time: isoTime(rec.exportTime),
      fields: f,
    },
    citysoc: { parser: PARSER[rec.version] ?? 'flow' },
  };
  if (rate !== 1) doc.flow.sampling_rate = rate;

  const observer: NonNullable<EcsEvent['observer']> & {
    ingress?: { interface: { id: string; name?: string } };
    egress?: { interface: { id: string; name?: string } };
  } = { ip: [rec.exporter], type: 'flow-exporter' };
  const ingress = num(f, 'ingressInterface', 'ingressPhysicalInterface');
  const egress = num(f, 'egressInterface', 'egressPhysicalInterface');
  const names = opts.facts?.interfaces;
  if (ingress !== undefined) observer.ingress = { interface: iface(ingress, names) };
  if (egress !== undefined) observer.egress = { interface: iface(egress, names) };
  doc.observer = observer;

  if (rec.options) return doc;

  // ICMP type/code: IPFIX has its own elements; v5/v9 exporters put type*256+code in the destination port.
  if (proto === 1 || proto === 58) {
    const tc = num(f, 'icmpTypeCodeIPv4', 'icmpTypeCodeIPv6') ?? dstPort;
    const type = num(f, 'icmpTypeIPv4', 'icmpTypeIPv6') ?? (tc !== undefined ? tc >> 8 : undefined);
    const code = num(f, 'icmpCodeIPv4', 'icmpCodeIPv6') ?? (tc !== undefined ? tc & 0xff : undefined);
    srcPort = type;
    dstPort = code;
  }

  const source: NonNullable<EcsEvent['source']> = {};
  if (srcIp !== undefined) source.ip = srcIp;
  if (srcPort !== undefined && proto !== 1 && proto !== 58) source.port = srcPort;
  const srcMac = str(f, 'sourceMacAddress');
  if (srcMac !== undefined) source.mac = ecsMac(srcMac);
  if (fwdBytes !== undefined) source.bytes = Math.round(fwdBytes * rate);
  if (fwdPackets !== undefined) source.packets = Math.round(fwdPackets * rate);
  doc.source = source;

  const destination: NonNullable<EcsEvent['destination']> = {};
  if (dstIp !== undefined) destination.ip = dstIp;
  if (dstPort !== undefined && proto !== 1 && proto !== 58) destination.port = dstPort;
  const dstMac = str(f, 'destinationMacAddress', 'postDestinationMacAddress');
  if (dstMac !== undefined) destination.mac = ecsMac(dstMac);
  if (revBytes !== undefined) destination.bytes = Math.round(revBytes * rate);
  if (revPackets !== undefined) destination.packets = Math.round(revPackets * rate);
  doc.destination = destination;

  const network: NonNullable<EcsEvent['network']> & { type?: string } = {};
  if (proto !== undefined) {
    network.iana_number = String(proto);
    const t = TRANSPORT[proto];
    if (t !== undefined) network.transport = t;
  }
  if (fwdBytes !== undefined || revBytes !== undefined)
    network.bytes = Math.round(((fwdBytes ?? 0) + (revBytes ?? 0)) * rate);
  if (fwdPackets !== undefined || revPackets !== undefined)
    network.packets = Math.round(((fwdPackets ?? 0) + (revPackets ?? 0)) * rate);
  const dir = num(f, 'flowDirection');
  network.direction = dir === 0 ? 'ingress' : dir === 1 ? 'egress' : 'unknown';
  if (srcIp !== undefined) network.type = srcIp.includes(':') ? 'ipv6' : 'ipv4';
  if (srcIp !== undefined && dstIp !== undefined && proto !== undefined) {
    const cid = communityId(srcIp, dstIp, proto, srcPort ?? 0, dstPort ?? 0);
    if (cid !== undefined) network.community_id = cid;
  }
  doc.network = network;

  if (srcIp !== undefined && dstIp !== undefined)
    doc.related = { ip: srcIp === dstIp ? [srcIp] : [srcIp, dstIp] };
  else if (srcIp !== undefined || dstIp !== undefined) doc.related = { ip: [(srcIp ?? dstIp)!] };

  // Elements this document already carries verbatim (see ECS_CARRIED) are written once.
  const carried = CARRIED_SCRATCH;
  carried.clear();
  const carry = (key: string | undefined, kept: boolean) => {
    if (key !== undefined && kept) carried.add(key);
  };
  carry(firstKey(f, 'string', 'sourceIPv4Address', 'sourceIPv6Address'), source.ip === srcIp);
  carry(firstKey(f, 'string', 'destinationIPv4Address', 'destinationIPv6Address'), destination.ip === dstIp);
  if (proto !== 1 && proto !== 58) {
    const sk = firstKey(f, 'number', 'sourceTransportPort', 'udpSourcePort', 'tcpSourcePort');
    if (sk === 'sourceTransportPort') carry(sk, source.port === f[sk]);
    const dk = firstKey(f, 'number', 'destinationTransportPort', 'udpDestinationPort', 'tcpDestinationPort');
    if (dk === 'destinationTransportPort') carry(dk, destination.port === f[dk]);
  }
  if (proto !== undefined) carry('protocolIdentifier', Number(network.iana_number) === proto);
  const bk = firstKey(
    f,
    'number',
    'octetDeltaCount',
    'octetTotalCount',
    'initiatorOctets',
    'postOctetDeltaCount',
  );
  if (bk === 'octetDeltaCount') carry(bk, source.bytes === f[bk]);
  const pk = firstKey(
    f,
    'number',
    'packetDeltaCount',
    'packetTotalCount',
    'initiatorPackets',
    'postPacketDeltaCount',
  );
  if (pk === 'packetDeltaCount') carry(pk, source.packets === f[pk]);
  const ik = firstKey(f, 'number', 'ingressInterface', 'ingressPhysicalInterface');
  if (ik === 'ingressInterface') carry(ik, Number(observer.ingress?.interface.id) === f[ik]);
  const ek = firstKey(f, 'number', 'egressInterface', 'egressPhysicalInterface');
  if (ek === 'egressInterface') carry(ek, Number(observer.egress?.interface.id) === f[ek]);
  if (dir === 0 || dir === 1) carry('flowDirection', true);
  doc.flow.fields = without(f, carried);
  return doc;
}

/** ECS wants MACs upper case with dashes (`00-50-56-91-56-86`). */
function ecsMac(m: string): string {
  return m.replaceAll(':', '-').toUpperCase();
}

function iface(index: number, names: Record<number, string> | undefined): { id: string; name?: string } {
  const name = names?.[index];
  return name === undefined ? { id: String(index) } : { id: String(index), name };
}

/**
 * The `--raw` view of `citysoc parse flow`: `{"version","template_id","fields"}` with elements keyed by
 * IANA name or `"<pen>/<id>"`, addresses as strings, times as ISO 8601 UTC, numbers as numbers.
 */
export function flowToRaw(rec: FlowRecord): {
  version: number;
  template_id: number;
  fields: Record<string, FlowValue>;
} {
  return { version: rec.version, template_id: rec.templateId, fields: rec.fields };
}
