import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

/** An address as a bigint (IPv4 in 32 bits, IPv6 in 128); IPv4-mapped IPv6 addresses count as IPv4. */
export function parseIp(text: string): { family: Family; value: bigint } | undefined {
  let ip = text.trim();
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  if (ip.toLowerCase().startsWith('::ffff:') && isIPv4(ip.slice(7))) ip = ip.slice(7);
  if (isIPv4(ip)) {
    let v = 0n;
    for (const part of ip.split('.')) v = (v << 8n) | BigInt(Number(part));
    return { family: 4, value: v };
  }
  if (!isIPv6(ip)) return undefined;
  let head = ip;
  let tail = '';
  const dbl = ip.indexOf('::');
  if (dbl >= 0) {
    head = ip.slice(0, dbl);
    tail = ip.slice(dbl + 2);
  }
  const groups = (s: string): number[] => {
    if (!s) return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        // Embedded IPv4 in the last 32 bits.
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  const all = dbl >= 0 ? [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return { family: 6, value: v };
}

export interface Cidr {
  family: Family;
  network: bigint;
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!addr) return undefined;
  const bits = addr.family === 4 ? 32 : 128;
  const prefix = slash >= 0 ? Number(text.slice(slash + 1)) : bits;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  return { family: addr.family, network: mask(addr.value, prefix, bits), prefix };
}

export function mask(value: bigint, prefix: number, bits: number): bigint {
  if (prefix === 0) return 0n;
  const hostBits = BigInt(bits - prefix);
  return (value >> hostBits) << hostBits;
}
