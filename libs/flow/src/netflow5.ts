import { Kind } from './elements/registry';
import type { DecodeContext, DecodeResult, RecordLayout } from './types';
import { uptimeToMs } from './records';
import { ipv4, u16, u32 } from './values';

export const V5_HEADER = 24;
export const V5_RECORD = 48;
/** Cisco's limit; a larger count means a corrupt header, not a bigger packet. */
const V5_MAX_COUNT = 30;

/** The fields of every v5 record, in the order `decodeV5` sets them (every one is always present). */
const V5_NAMES = [
  'sourceIPv4Address',
  'destinationIPv4Address',
  'ipNextHopIPv4Address',
  'ingressInterface',
  'egressInterface',
  'packetDeltaCount',
  'octetDeltaCount',
  'flowStartSysUpTime',
  'flowEndSysUpTime',
  'sourceTransportPort',
  'destinationTransportPort',
  'tcpControlBits',
  'protocolIdentifier',
  'ipClassOfService',
  'bgpSourceAsNumber',
  'bgpDestinationAsNumber',
  'sourceIPv4PrefixLength',
  'destinationIPv4PrefixLength',
  'engineType',
  'engineId',
  'samplingAlgorithm',
  'samplingInterval',
];
export const V5_LAYOUT: RecordLayout = {
  names: V5_NAMES,
  kinds: Uint8Array.from(V5_NAMES, (_, i) => (i < 3 ? Kind.Ip4 : Kind.Uint)),
};

/**
 * Decodes one NetFlow v5 message at `off` (fixed layout, no templates). Returns the offset after the
 * message, or -1 when the header is unusable (the caller stops: nothing after it can be trusted).
 */
export function decodeV5(
  buf: Buffer,
  off: number,
  ctx: DecodeContext,
  messageIndex: number,
  out: DecodeResult,
): number {
  const { records, layouts, errors, messages } = out;
  if (buf.length - off < V5_HEADER) {
    errors.push({ code: 'short-datagram', message: 'NetFlow v5 header truncated', offset: off });
    return -1;
  }
  const count = buf.readUInt16BE(off + 2);
  const sysUptime = buf.readUInt32BE(off + 4);
  const exportTime = buf.readUInt32BE(off + 8) * 1000 + Math.floor(buf.readUInt32BE(off + 12) / 1e6);
  const sequence = buf.readUInt32BE(off + 16);
  const engineType = buf[off + 20]!;
  const engineId = buf[off + 21]!;
  const sampling = buf.readUInt16BE(off + 22);
  const domain = (engineType << 8) | engineId;
  if (count === 0 || count > V5_MAX_COUNT) {
    errors.push({ code: 'bad-message-length', message: `NetFlow v5 record count ${count}`, offset: off });
    return -1;
  }
  let n = count;
  const available = Math.floor((buf.length - off - V5_HEADER) / V5_RECORD);
  if (available < count) {
    errors.push({
      code: 'truncated',
      message: `NetFlow v5 header announces ${count} records, datagram holds ${available}`,
      offset: off,
    });
    n = available;
  }
  const samplingAlgorithm = sampling >>> 14;
  const samplingInterval = sampling & 0x3fff;
  // Addresses as numbers or dotted quads (`DecodeContext.numericAddresses`).
  const addr: (buf: Buffer, off: number) => number | string = ctx.numericAddresses ? u32 : ipv4;
  for (let i = 0; i < n; i++) {
    const p = off + V5_HEADER + i * V5_RECORD;
    const first = u32(buf, p + 24);
    const last = u32(buf, p + 28);
    layouts.push(V5_LAYOUT);
    records.push({
      version: 5,
      exporter: ctx.exporter,
      domain,
      templateId: 0,
      options: false,
      sequence,
      exportTime,
      messageIndex,
      setIndex: 0,
      recordIndex: i,
      start: uptimeToMs(exportTime, sysUptime, first),
      end: uptimeToMs(exportTime, sysUptime, last),
      fields: {
        sourceIPv4Address: addr(buf, p),
        destinationIPv4Address: addr(buf, p + 4),
        ipNextHopIPv4Address: addr(buf, p + 8),
        ingressInterface: u16(buf, p + 12),
        egressInterface: u16(buf, p + 14),
        packetDeltaCount: u32(buf, p + 16),
        octetDeltaCount: u32(buf, p + 20),
        flowStartSysUpTime: first,
        flowEndSysUpTime: last,
        sourceTransportPort: u16(buf, p + 32),
        destinationTransportPort: u16(buf, p + 34),
        tcpControlBits: buf[p + 37]!,
        protocolIdentifier: buf[p + 38]!,
        ipClassOfService: buf[p + 39]!,
        bgpSourceAsNumber: u16(buf, p + 40),
        bgpDestinationAsNumber: u16(buf, p + 42),
        sourceIPv4PrefixLength: buf[p + 44]!,
        destinationIPv4PrefixLength: buf[p + 45]!,
        engineType,
        engineId,
        samplingAlgorithm,
        samplingInterval,
      },
    });
  }
  messages.push({ version: 5, domain, sequence, exportTime, records: n, held: 0 });
  return off + V5_HEADER + count * V5_RECORD;
}
