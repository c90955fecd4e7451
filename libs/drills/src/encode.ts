import { ianaElement, ianaElementId, Kind } from '@citysoc/flow';

/** One flow to export; times are epoch milliseconds. */
export interface EncFlow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** IANA protocol number (6 tcp, 17 udp, 1 icmp). */
  proto: number;
  packets: number;
  bytes: number;
  startMs: number;
  endMs: number;
  tcpFlags: number;
}

export type ExportVersion = 'v5' | 'v9' | 'ipfix';

export interface FlowExporterOptions {
  version: ExportVersion;
  /** v9 source id / IPFIX observation domain; v5 engine_type << 8 | engine_id. */
  domain: number;
  templateId?: number;
  /** Re-send the template every N messages (exporters do, so a restarted collector learns it). */
  templateEvery?: number;
  /** Exporter boot time (v5/v9 uptimes count from it); default 1 h before the first export. */
  bootMs?: number;
}

/** Field layout of the v9/IPFIX template, by IANA name; ids come from libs/flow's element registry. */
const V9_FIELDS: Array<[string, number]> = [
  ['sourceIPv4Address', 4],
  ['destinationIPv4Address', 4],
  ['sourceTransportPort', 2],
  ['destinationTransportPort', 2],
  ['protocolIdentifier', 1],
  ['tcpControlBits', 1],
  ['octetDeltaCount', 4],
  ['packetDeltaCount', 4],
  ['flowStartSysUpTime', 4],
  ['flowEndSysUpTime', 4],
];
const IPFIX_FIELDS: Array<[string, number]> = [
  ['sourceIPv4Address', 4],
  ['destinationIPv4Address', 4],
  ['sourceTransportPort', 2],
  ['destinationTransportPort', 2],
  ['protocolIdentifier', 1],
  ['tcpControlBits', 2],
  ['octetDeltaCount', 8],
  ['packetDeltaCount', 8],
  ['flowStartMilliseconds', 8],
  ['flowEndMilliseconds', 8],
];

function elementIds(fields: Array<[string, number]>): Array<[string, number, number]> {
  return fields.map(([name, len]) => {
    const id = ianaElementId(name);
    if (id === undefined || ianaElement(id)?.kind === undefined || ianaElement(id)!.kind === Kind.Auto)
      throw new Error(`flow element ${name} is not in the registry`);
    return [name, id, len];
  });
}

const V5_MAX = 30;
const V9_MAX = 24;
const IPFIX_MAX = 24;

function ip4(s: string): Buffer {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${s}`);
  return Buffer.from(parts);
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
}

/**
 * A stateful exporter: sequence numbers, uptime clock and template refresh behave as a real device's do,
 * so the collector's loss accounting and template cache see ordinary traffic. Templates go first in the
 * first message and every `templateEvery` messages after it.
 */
export class FlowExporter {
  private readonly version: ExportVersion;
  private readonly domain: number;
  private readonly templateId: number;
  private readonly templateEvery: number;
  private bootMs: number | undefined;
  private messages = 0;
  /** v5: flows exported; v9: messages exported; IPFIX: data records exported (each protocol's rule). */
  private sequence = 0;
  private readonly fields: Array<[string, number, number]>;

  constructor(opts: FlowExporterOptions) {
    this.version = opts.version;
    this.domain = opts.domain >>> 0;
    this.templateId = opts.templateId ?? 256;
    if (this.templateId < 256 || this.templateId > 65535) throw new Error('template id must be 256-65535');
    this.templateEvery = opts.templateEvery ?? 20;
    this.bootMs = opts.bootMs;
    this.fields = elementIds(this.version === 'ipfix' ? IPFIX_FIELDS : V9_FIELDS);
  }

  /** Encodes flows into as many datagrams as the protocol's limits need. */
  encode(flows: EncFlow[], exportMs: number): Buffer[] {
    this.bootMs ??= exportMs - 3_600_000;
    const max = this.version === 'v5' ? V5_MAX : this.version === 'v9' ? V9_MAX : IPFIX_MAX;
    const out: Buffer[] = [];
    for (let i = 0; i < flows.length; i += max) {
      const chunk = flows.slice(i, i + max);
      out.push(
        this.version === 'v5'
          ? this.v5(chunk, exportMs)
          : this.version === 'v9'
            ? this.v9(chunk, exportMs)
            : this.ipfix(chunk, exportMs),
      );
      this.messages++;
    }
    return out;
  }

  private uptime(ms: number): number {
    return Math.max(0, ms - this.bootMs!) >>> 0;
  }

  private sendTemplate(): boolean {
    return this.messages % this.templateEvery === 0;
  }

  private v5(flows: EncFlow[], exportMs: number): Buffer {
    const h = Buffer.alloc(24);
    h.writeUInt16BE(5, 0);
    h.writeUInt16BE(flows.length, 2);
    h.writeUInt32BE(this.uptime(exportMs), 4);
    h.writeUInt32BE(Math.floor(exportMs / 1000), 8);
    h.writeUInt32BE((exportMs % 1000) * 1_000_000, 12);
    h.writeUInt32BE(this.sequence >>> 0, 16);
    h.writeUInt8((this.domain >>> 8) & 0xff, 20);
    h.writeUInt8(this.domain & 0xff, 21);
    this.sequence += flows.length;
    const recs = flows.map((f) => {
      const r = Buffer.alloc(48);
      ip4(f.src).copy(r, 0);
      ip4(f.dst).copy(r, 4);
      r.writeUInt32BE(f.packets >>> 0, 16);
      r.writeUInt32BE(f.bytes >>> 0, 20);
      r.writeUInt32BE(this.uptime(f.startMs), 24);
      r.writeUInt32BE(this.uptime(f.endMs), 28);
      r.writeUInt16BE(f.sport, 32);
      r.writeUInt16BE(f.dport, 34);
      r.writeUInt8(f.tcpFlags & 0xff, 37);
      r.writeUInt8(f.proto, 38);
      return r;
    });
    return Buffer.concat([h, ...recs]);
  }

  private record(f: EncFlow): Buffer {
    const parts: Buffer[] = [];
    for (const [name, , len] of this.fields) {
      const b = Buffer.alloc(len);
      switch (name) {
        case 'sourceIPv4Address':
          ip4(f.src).copy(b);
          break;
        case 'destinationIPv4Address':
          ip4(f.dst).copy(b);
          break;
        case 'sourceTransportPort':
          b.writeUInt16BE(f.sport);
          break;
        case 'destinationTransportPort':
          b.writeUInt16BE(f.dport);
          break;
        case 'protocolIdentifier':
          b.writeUInt8(f.proto);
          break;
        case 'tcpControlBits':
          b.writeUIntBE(f.tcpFlags, 0, len);
          break;
        case 'octetDeltaCount':
          if (len === 8) b.writeBigUInt64BE(BigInt(f.bytes));
          else b.writeUInt32BE(f.bytes >>> 0);
          break;
        case 'packetDeltaCount':
          if (len === 8) b.writeBigUInt64BE(BigInt(f.packets));
          else b.writeUInt32BE(f.packets >>> 0);
          break;
        case 'flowStartSysUpTime':
          b.writeUInt32BE(this.uptime(f.startMs));
          break;
        case 'flowEndSysUpTime':
          b.writeUInt32BE(this.uptime(f.endMs));
          break;
        case 'flowStartMilliseconds':
          b.writeBigUInt64BE(BigInt(f.startMs));
          break;
        case 'flowEndMilliseconds':
          b.writeBigUInt64BE(BigInt(f.endMs));
          break;
      }
      parts.push(b);
    }
    return Buffer.concat(parts);
  }

  private templateBody(): Buffer {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(this.templateId, 0);
    head.writeUInt16BE(this.fields.length, 2);
    const specs = this.fields.map(([, id, len]) => {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(id, 0);
      b.writeUInt16BE(len, 2);
      return b;
    });
    return Buffer.concat([head, ...specs]);
  }

  private set(id: number, body: Buffer): Buffer {
    const padded = pad4(body);
    const h = Buffer.alloc(4);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(padded.length + 4, 2);
    return Buffer.concat([h, padded]);
  }

  private v9(flows: EncFlow[], exportMs: number): Buffer {
    const sets: Buffer[] = [];
    let count = 0;
    if (this.sendTemplate()) {
      sets.push(this.set(0, this.templateBody()));
      count++;
    }
    if (flows.length > 0) {
      sets.push(this.set(this.templateId, Buffer.concat(flows.map((f) => this.record(f)))));
      count += flows.length;
    }
    const h = Buffer.alloc(20);
    h.writeUInt16BE(9, 0);
    h.writeUInt16BE(count, 2);
    h.writeUInt32BE(this.uptime(exportMs), 4);
    h.writeUInt32BE(Math.floor(exportMs / 1000), 8);
    h.writeUInt32BE(this.sequence >>> 0, 12);
    h.writeUInt32BE(this.domain, 16);
    this.sequence++;
    return Buffer.concat([h, ...sets]);
  }

  private ipfix(flows: EncFlow[], exportMs: number): Buffer {
    const sets: Buffer[] = [];
    if (this.sendTemplate()) sets.push(this.set(2, this.templateBody()));
    if (flows.length > 0)
      sets.push(this.set(this.templateId, Buffer.concat(flows.map((f) => this.record(f)))));
    const body = Buffer.concat(sets);
    const h = Buffer.alloc(16);
    h.writeUInt16BE(10, 0);
    h.writeUInt16BE(16 + body.length, 2);
    h.writeUInt32BE(Math.floor(exportMs / 1000), 4);
    h.writeUInt32BE(this.sequence >>> 0, 8);
    h.writeUInt32BE(this.domain, 12);
    this.sequence += flows.length;
    return Buffer.concat([h, body]);
  }
}

export const PROTO_NUMBER = { tcp: 6, udp: 17, icmp: 1 } as const;
