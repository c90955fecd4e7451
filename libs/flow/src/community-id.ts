import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/** ICMP types whose reply/request counterpart makes a flow two-way (Community ID spec, "ICMP"). */
const ICMP4_PAIRS: Record<number, number> = {
  8: 0,
  0: 8,
  13: 14,
  14: 13,
  15: 16,
  16: 15,
  17: 18,
  18: 17,
  10: 9,
  9: 10,
};
const ICMP6_PAIRS: Record<number, number> = {
  128: 129,
  129: 128,
  133: 134,
  134: 133,
  135: 136,
  136: 135,
  139: 140,
  140: 139,
  144: 145,
  145: 144,
};

const PORT_PROTOCOLS = new Set([6, 17, 132]);

/** Writes the address into `out` at `off`; returns its length (4 or 16) or 0 when it is not an address. */
function writeAddr(ip: string, out: Buffer, off: number): number {
  const v4 = parseV4(ip);
  if (v4 >= 0) {
    out.writeUInt32BE(v4, off);
    return 4;
  }
  const b = addrBytes(ip);
  if (!b) return 0;
  b.copy(out, off);
  return 16;
}

/** Dotted quad → uint32, or -1; hand-rolled because it runs once per flow. */
function parseV4(s: string): number {
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return v * 256 + part;
}

function addrBytes(ip: string): Buffer | undefined {
  const v = isIP(ip);
  if (v !== 6) return undefined;
  let s = ip;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const dot = s.lastIndexOf(':');
  const tail = s.slice(dot + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number);
    s = `${s.slice(0, dot + 1)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups =
    rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): the same flow gets the same id in every
 * tool (Zeek, Suricata, Elastic), so flows can be joined with IDS alerts. Undefined when an address is
 * missing or unparsable. For ICMP, `srcPort`/`dstPort` carry type and code.
 */
// One scratch buffer for the hash input: seed(2) + two addresses (≤16 each) + proto + pad + ports(4).
const scratch = Buffer.alloc(2 + 16 + 16 + 2 + 4);
const addrA = Buffer.alloc(16);
const addrB = Buffer.alloc(16);

export function communityId(
  srcIp: string,
  dstIp: string,
  proto: number,
  srcPort = 0,
  dstPort = 0,
  seed = 0,
): string | undefined {
  const la = writeAddr(srcIp, addrA, 0);
  const lb = writeAddr(dstIp, addrB, 0);
  if (la === 0 || la !== lb) return undefined;
  let sp = srcPort;
  let dp = dstPort;
  let oneWay = false;
  const icmp = proto === 1 || proto === 58;
  if (icmp) {
    const pairs = proto === 1 ? ICMP4_PAIRS : ICMP6_PAIRS;
    const peer = pairs[sp];
    if (peer === undefined) oneWay = true;
    else dp = peer;
  }
  const ports = icmp || PORT_PROTOCOLS.has(proto);
  let first = addrA;
  let second = addrB;
  if (!oneWay) {
    const c = addrA.compare(addrB, 0, la, 0, la);
    if (c > 0 || (c === 0 && ports && sp > dp)) {
      first = addrB;
      second = addrA;
      [sp, dp] = [dp, sp];
    }
  }
  let o = scratch.writeUInt16BE(seed & 0xffff, 0);
  o += first.copy(scratch, o, 0, la);
  o += second.copy(scratch, o, 0, la);
  scratch[o++] = proto;
  scratch[o++] = 0;
  if (ports) {
    o = scratch.writeUInt16BE(sp & 0xffff, o);
    o = scratch.writeUInt16BE(dp & 0xffff, o);
  }
  return `1:${createHash('sha1').update(scratch.subarray(0, o)).digest('base64')}`;
}
