import type { TemplateCache, TemplateScope } from './templates';

const V5_HEADER = 24;
const V5_RECORD = 48;
const V9_HEADER = 20;
const IPFIX_HEADER = 16;

/**
 * Whether a datagram can be decoded by a mirror of `cache` without changing it: one message (v5; or v9 /
 * IPFIX made only of data sets whose template `cache` knows and which are not options data), framed
 * exactly. Returns the message's domain (v5: engine type and id), or undefined when the datagram carries
 * templates, options data, data for an unknown template, several messages or anything malformed — those
 * are decoded where the authoritative cache lives, which learns from them. Reads headers only.
 */
export function dataOnlyDomain(buf: Buffer, exporter: string, cache: TemplateCache): number | undefined {
  if (buf.length < 4) return undefined;
  const version = (buf[0]! << 8) | buf[1]!;
  if (version === 5) {
    const count = (buf[2]! << 8) | buf[3]!;
    if (count === 0 || count > 30 || buf.length !== V5_HEADER + count * V5_RECORD) return undefined;
    return (buf[20]! << 8) | buf[21]!;
  }
  let pos: number;
  const end = buf.length;
  if (version === 10) {
    if (buf.length < IPFIX_HEADER || buf.readUInt16BE(2) !== buf.length) return undefined;
    pos = IPFIX_HEADER;
  } else if (version === 9) {
    if (buf.length < V9_HEADER) return undefined;
    pos = V9_HEADER;
  } else return undefined;
  const domain = buf.readUInt32BE(version === 9 ? 16 : 12);
  const scope: TemplateScope = { exporter, version: version === 9 ? 9 : 10, domain };
  let sets = 0;
  while (end - pos >= 4) {
    const id = buf.readUInt16BE(pos);
    const len = buf.readUInt16BE(pos + 2);
    if (id < 256 || len < 4 || pos + len > end) return undefined;
    const tpl = cache.get(scope, id);
    if (!tpl || tpl.def.options) return undefined;
    pos += len;
    sets++;
  }
  // v9 may end in a few padding bytes; IPFIX sets fill the message exactly.
  if (pos !== end && (version === 10 || end - pos >= 4)) return undefined;
  return sets > 0 ? domain : undefined;
}
