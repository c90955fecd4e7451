import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Addresses that never identify anything outside the city: private, loopback, link-local, ULA, CGNAT… */
export const NON_PUBLIC_RANGES: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '64:ff9b:1::/48',
  '100::/64',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

/** RFC 5737 / RFC 3849 / RFC 9637: configurable, because test data and examples live in them. */
export const DOCUMENTATION_RANGES: readonly string[] = [
  '192.0.2.0/24',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '2001:db8::/32',
  '3fff::/20',
];

export type IpFamily = 4 | 6;

/** Canonical text of an address, or undefined if it is not one; IPv4-mapped IPv6 becomes IPv4. */
export function normaliseIp(text: string): { value: string; family: IpFamily } | undefined {
  let ip = text.trim();
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  if (/^::ffff:/i.test(ip) && isIPv4(ip.slice(7))) ip = ip.slice(7);
  if (isIPv4(ip)) return { value: ip, family: 4 };
  if (isIPv6(ip)) return { value: ip.toLowerCase(), family: 6 };
  return undefined;
}

/** A set of CIDR ranges (both families) with a membership test. */
export class RangeSet {
  private readonly list = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      const n = addr === undefined ? undefined : normaliseIp(addr);
      if (!n) throw new Error(`not a CIDR range: ${c}`);
      const max = n.family === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`not a CIDR range: ${c}`);
      this.list.addSubnet(n.value, prefix, n.family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  has(ip: string): boolean {
    const n = normaliseIp(ip);
    return n !== undefined && this.list.check(n.value, n.family === 4 ? 'ipv4' : 'ipv6');
  }
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A fully qualified public-looking DNS name (at least two labels, alphabetic TLD), lower-cased. */
export function normaliseDomain(text: string): string | undefined {
  const d = text.trim().toLowerCase().replace(/\.$/, '');
  if (d.length === 0 || d.length > 253 || normaliseIp(d)) return undefined;
  const labels = d.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  const tld = labels[labels.length - 1]!;
  return /^(?:[a-z]{2,63}|xn--[a-z0-9-]+)$/.test(tld) ? d : undefined;
}

export function hasSuffix(domain: string, suffixes: readonly string[]): boolean {
  return suffixes.some((s) => {
    const suf = s.toLowerCase().replace(/^\./, '');
    return domain === suf || domain.endsWith(`.${suf}`);
  });
}
