import { parseCidr, parseIp } from '@citysoc/enrich';

/** `::ffff:10.0.0.1` (an IPv4 exporter seen on a dual-stack socket) → `10.0.0.1`: one exporter, one key. */
export function exporterAddress(address: string): string {
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  const pct = a.indexOf('%');
  return (pct >= 0 ? a.slice(0, pct) : a).toLowerCase();
}

/**
 * Which exporters may send flows. An empty list admits every sender; otherwise an address must fall in
 * one of the CIDRs (IPv4 and IPv6; IPv4-mapped IPv6 addresses are read as IPv4).
 */
export class ExporterAllowlist {
  private readonly nets: Array<{ family: 4 | 6; network: bigint; prefix: number }>;

  constructor(cidrs: readonly string[]) {
    this.nets = cidrs.map((c) => {
      const n = parseCidr(c);
      if (!n) throw new Error(`not a CIDR: ${c}`);
      return n;
    });
  }

  get open(): boolean {
    return this.nets.length === 0;
  }

  allows(address: string): boolean {
    if (this.nets.length === 0) return true;
    const ip = parseIp(exporterAddress(address));
    if (!ip) return false;
    const bits = ip.family === 4 ? 32 : 128;
    for (const n of this.nets) {
      if (n.family !== ip.family) continue;
      const shift = BigInt(bits - n.prefix);
      if (n.prefix === 0 || ip.value >> shift === n.network >> shift) return true;
    }
    return false;
  }
}
