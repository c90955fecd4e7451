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
 * `flow` is the documented home of the raw decode: `flow.fields` holds every element exactly as the
 * exporter sent it (IANA names, `"<pen>/<id>"` enterprise keys, `"v9/<id>"` v9 vendor types; counters
 * NOT sampling-corrected), next to the header facts. ECS `network.bytes/packets` and `source/destination
 * .bytes/packets` ARE multiplied by the sampling rate when one is known (`flow.sampling_rate`).
 */
export interface FlowEcsExtras {
  event: EcsEvent['event'] & { start?: string; end?: string; duration?: number };
  flow: {
    version: number;
    exporter: string;
    observation_domain_id: number;
    template_id: number;
    sequence: number;
    export_time: string;
    options_data: boolean;
    sampling_rate?: number;
    fields: Record<string, FlowValue>;
  };
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
      version: rec.version,
      exporter: rec.exporter,
      observation_domain_id: rec.domain,
      template_id: rec.templateId,
      sequence: rec.sequence,
      export_time: isoTime(rec.exportTime),
      options_data: rec.options,
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
