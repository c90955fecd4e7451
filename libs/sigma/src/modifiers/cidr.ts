/**
 * IPv4/IPv6 addresses as 16 bytes (IPv4 as its `::ffff:a.b.c.d` mapped form), so one prefix test covers
 * both families and a mapped IPv6 event address matches an IPv4 network.
 */

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseV4(s: string, out: Uint8Array, at: number): boolean {
  let octet = 0;
  let digits = 0;
  let idx = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; /* '.' sentinel */
    if (c >= 48 && c <= 57) {
      // A leading zero is ambiguous (octal in some stacks), so it is rejected like Python's ipaddress.
      if (digits > 0 && octet === 0) return false;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || idx > 3) return false;
      out[at + idx++] = octet;
      octet = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return idx === 4;
}

function parseV6(s: string, out: Uint8Array): boolean {
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const groups = (x: string): number[] | null => {
    if (x === '') return [];
    const res: number[] = [];
    const items = x.split(':');
    for (let k = 0; k < items.length; k++) {
      const g = items[k] as string;
      if (k === items.length - 1 && g.includes('.')) {
        const b = new Uint8Array(4);
        if (!parseV4(g, b, 0)) return null;
        res.push(((b[0] as number) << 8) | (b[1] as number), ((b[2] as number) << 8) | (b[3] as number));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      res.push(parseInt(g, 16));
    }
    return res;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return false;
  if (dbl >= 0 ? h.length + t.length > 7 : h.length !== 8) return false;
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  for (let k = 0; k < 8; k++) {
    out[2 * k] = (all[k] as number) >> 8;
    out[2 * k + 1] = (all[k] as number) & 0xff;
  }
  return true;
}

/** Returns 16 bytes, or null when `s` is not an IP address. Zone ids (`%eth0`) and brackets are ignored. */
export function parseIp(input: string): Uint8Array | null {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const out = new Uint8Array(16);
  if (s.includes(':')) {
    const pct = s.indexOf('%');
    if (pct >= 0) s = s.slice(0, pct);
    return parseV6(s, out) ? out : null;
  }
  for (let k = 0; k < 12; k++) out[k] = V4_MAPPED_PREFIX[k] as number;
  return parseV4(s, out, 12) ? out : null;
}

export interface Network {
  bytes: Uint8Array;
  /** Prefix length in the 128-bit space (IPv4 /n is 96 + n). */
  bits: number;
}

export function parseCidr(s: string): Network | null {
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const v4 = !addr.includes(':');
  const max = v4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p)) return null;
    len = Number(p);
    if (len > max) return null;
  }
  return { bytes, bits: v4 ? 96 + len : len };
}

export function inNetwork(ip: Uint8Array, net: Network): boolean {
  const full = net.bits >> 3;
  for (let k = 0; k < full; k++) if (ip[k] !== net.bytes[k]) return false;
  const rem = net.bits & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((ip[full] as number) & mask) === ((net.bytes[full] as number) & mask);
}
