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

/**
 * Writes the address (text, or an IPv4 uint32 as `numericAddresses` decoding gives it) into `out` at
 * `off`; returns its length (4 or 16) or 0 when it is not an address.
 */
function writeAddr(ip: string | number, out: Uint8Array, off: number): number {
  const v4 = typeof ip === 'number' ? ip : parseV4(ip);
  if (v4 >= 0) {
    out[off] = v4 >>> 24;
    out[off + 1] = (v4 >>> 16) & 0xff;
    out[off + 2] = (v4 >>> 8) & 0xff;
    out[off + 3] = v4 & 0xff;
    return 4;
  }
  if (typeof ip === 'number') return 0;
  const b = addrBytes(ip);
  if (!b) return 0;
  for (let i = 0; i < 16; i++) out[off + i] = b[i]!;
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
  const len = hashInput(srcIp, dstIp, proto, srcPort, dstPort, seed);
  return len === 0 ? undefined : `1:${sha1Base64(scratch, len)}`;
}

/**
 * `communityId` (seed 0) remembered within one scope — the flow JSON writer opens one per datagram
 * (`communityIdScope`). Both directions of a connection share an id, and exporters that pair them
 * (softflowd, biflow-less IPFIX) send the two records side by side, so about half the SHA-1s of such a
 * datagram are saved; the hash was the costliest part of writing a flow document. Entries are keyed by
 * the whole hash input (compared byte for byte), so a hit is always the right id; the scope only keeps
 * the cache from serving ids across datagrams, which a replay of the same datagrams would flatter.
 */
export function communityIdInScope(
  srcIp: string | number,
  dstIp: string | number,
  proto: number,
  srcPort = 0,
  dstPort = 0,
): string | undefined {
  const len = hashInput(srcIp, dstIp, proto, srcPort, dstPort, 0);
  if (len === 0) return undefined;
  let h = 0x811c9dc5;
  for (let i = 2; i < len; i++) h = Math.imul(h ^ scratch[i]!, 0x01000193);
  const slot = (h ^ (h >>> 16)) & (SLOTS - 1);
  const base = slot * INPUT_MAX;
  if (slotScope[slot] === scope && slotLen[slot] === len) {
    let same = true;
    for (let i = 0; i < len && same; i++) same = slotBytes[base + i] === scratch[i];
    if (same) return slotId[slot]!;
  }
  const id = `1:${sha1Base64(scratch, len)}`;
  for (let i = 0; i < len; i++) slotBytes[base + i] = scratch[i]!;
  slotLen[slot] = len;
  slotScope[slot] = scope;
  slotId[slot] = id;
  return id;
}

/** Starts a new scope of `communityIdInScope` (ids remembered before are not served any more). */
export function communityIdScope(): void {
  scope = (scope + 1) | 0;
}

const INPUT_MAX = 40;
const SLOTS = 64;
const slotBytes = new Uint8Array(SLOTS * INPUT_MAX);
const slotLen = new Uint8Array(SLOTS);
const slotScope = new Int32Array(SLOTS).fill(-1);
const slotId = new Array<string>(SLOTS).fill('');
let scope = 0;

/** The Community ID hash input in `scratch`; returns its length, 0 when an address is missing or unparsable. */
function hashInput(
  srcIp: string | number,
  dstIp: string | number,
  proto: number,
  srcPort: number,
  dstPort: number,
  seed: number,
): number {
  const la = writeAddr(srcIp, addrA, 0);
  const lb = writeAddr(dstIp, addrB, 0);
  if (la === 0 || la !== lb) return 0;
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
    // Plain loops: Buffer#compare and #copy are native calls that cost more than 4 or 16 bytes of work.
    let c = 0;
    for (let i = 0; i < la && c === 0; i++) c = addrA[i]! - addrB[i]!;
    if (c > 0 || (c === 0 && ports && sp > dp)) {
      first = addrB;
      second = addrA;
      [sp, dp] = [dp, sp];
    }
  }
  scratch[0] = (seed >>> 8) & 0xff;
  scratch[1] = seed & 0xff;
  let o = 2;
  for (let i = 0; i < la; i++) scratch[o++] = first[i]!;
  for (let i = 0; i < la; i++) scratch[o++] = second[i]!;
  scratch[o++] = proto;
  scratch[o++] = 0;
  if (ports) {
    scratch[o++] = (sp >>> 8) & 0xff;
    scratch[o++] = sp & 0xff;
    scratch[o++] = (dp >>> 8) & 0xff;
    scratch[o++] = dp & 0xff;
  }
  return o;
}

// SHA-1 (FIPS 180-4) of one short message, in plain JS: the Community ID input is at most 40 bytes, so
// it always fits one 64-byte block, and a `createHash` object + digest Buffer per flow cost more than the
// compression itself (≈10 % of the collector's flow ingest profile). Checked against node:crypto in
// community-id.spec.ts. Exported for that test only.
const W = new Int32Array(80);
const B64_CODES = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) =>
  c.charCodeAt(0),
);
const OUT = new Uint16Array(28);

export function sha1Base64(msg: Uint8Array, len: number): string {
  W.fill(0, 0, 16);
  for (let i = 0; i < len; i++) W[i >> 2]! |= msg[i]! << (24 - (i & 3) * 8);
  W[len >> 2]! |= 0x80 << (24 - (len & 3) * 8);
  W[15] = len * 8;
  for (let t = 16; t < 80; t++) {
    const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
    W[t] = (x << 1) | (x >>> 31);
  }
  let a = 0x67452301;
  let b = 0xefcdab89 | 0;
  let c = 0x98badcfe | 0;
  let d = 0x10325476;
  let e = 0xc3d2e1f0 | 0;
  // Four loops, one per round function, so the compression has no branch per step.
  let t = 0;
  for (; t < 20; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + W[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  for (; t < 40; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + W[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  for (; t < 60; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (0x8f1bbcdc | 0) + W[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  for (; t < 80; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (0xca62c1d6 | 0) + W[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  const h = [
    (0x67452301 + a) | 0,
    ((0xefcdab89 | 0) + b) | 0,
    ((0x98badcfe | 0) + c) | 0,
    (0x10325476 + d) | 0,
    ((0xc3d2e1f0 | 0) + e) | 0,
  ];
  // 20 digest bytes → 28 base64 characters (the last group has two bytes, one '='), built in one call
  // rather than 28 string concatenations.
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 20; i++) {
    acc = (acc << 8) | ((h[i >> 2]! >>> (24 - (i & 3) * 8)) & 0xff);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      OUT[n++] = B64_CODES[(acc >>> bits) & 63]!;
    }
    acc &= (1 << bits) - 1;
  }
  OUT[n++] = B64_CODES[(acc << (6 - bits)) & 63]!;
  OUT[n] = 61; // '='
  return String.fromCharCode.apply(null, OUT as unknown as number[]);
}
