import { NON_PUBLIC_RANGES, RangeSet, normaliseDomain, normaliseIp } from './net';
import { type StixObject } from './types';

export type IocKind = 'ipv4-addr' | 'ipv6-addr' | 'domain-name' | 'md5' | 'sha1' | 'sha256';

export interface ParsedIoc {
  type: IocKind;
  value: string;
  indicatorId: string;
  validUntil: string | null;
}

export interface IocParseResult {
  iocs: ParsedIoc[];
  /** Comparisons we did not take (other object paths, operators, non-public addresses), for counting. */
  skipped: number;
}

const HASHES: Record<string, IocKind> = {
  md5: 'md5',
  'sha-1': 'sha1',
  sha1: 'sha1',
  'sha-256': 'sha256',
  sha256: 'sha256',
};
const HASH_LEN: Record<string, number> = { md5: 32, sha1: 40, sha256: 64 };

const nonPublic = new RangeSet(NON_PUBLIC_RANGES);

/**
 * IOCs from one STIX indicator: the equality comparisons of a `stix` pattern on public addresses, domains
 * and file hashes. Anything else (ranges, MATCHES, other paths, an expired or revoked indicator) is not an
 * IOC we can look up by value; it is counted, not guessed at. Internal addresses from the centre are dropped:
 * they would match the city's own hosts, not an attacker.
 */
export function iocsFromIndicator(o: StixObject, now = new Date().toISOString()): IocParseResult {
  if (o.type !== 'indicator' || o['pattern_type'] !== 'stix' || typeof o['pattern'] !== 'string')
    return { iocs: [], skipped: 1 };
  if (o['revoked'] === true) return { iocs: [], skipped: 1 };
  const validUntil = typeof o['valid_until'] === 'string' ? new Date(o['valid_until']).toISOString() : null;
  if (validUntil !== null && validUntil <= now) return { iocs: [], skipped: 1 };
  const out: ParsedIoc[] = [];
  let skipped = 0;
  const re =
    /([a-z0-9-]+):([A-Za-z0-9_.'-]+)\s*(=|!=|>|<|>=|<=|MATCHES|LIKE|IN|ISSUBSET|ISSUPERSET)\s*('(?:[^'\\]|\\.)*'|\([^)]*\)|[^\s\]]+)/g;
  for (const m of o['pattern'].matchAll(re)) {
    const [, type, path, op, rawValue] = m as unknown as [string, string, string, string, string];
    if (op !== '=' || !rawValue.startsWith("'")) {
      skipped++;
      continue;
    }
    const value = rawValue.slice(1, -1).replace(/\\(.)/g, '$1');
    const ioc = classify(type, path, value);
    if (ioc) out.push({ ...ioc, indicatorId: o.id, validUntil });
    else skipped++;
  }
  return { iocs: out, skipped };
}

function classify(type: string, path: string, value: string): { type: IocKind; value: string } | undefined {
  if ((type === 'ipv4-addr' || type === 'ipv6-addr') && path === 'value') {
    // A CIDR in an indicator is a range, not one address; only single public addresses are looked up.
    const n = normaliseIp(value);
    if (!n || nonPublic.has(n.value)) return undefined;
    return { type: n.family === 4 ? 'ipv4-addr' : 'ipv6-addr', value: n.value };
  }
  if (type === 'domain-name' && path === 'value') {
    const d = normaliseDomain(value);
    return d ? { type: 'domain-name', value: d } : undefined;
  }
  if (type === 'file' && path.startsWith('hashes.')) {
    const algo = path.slice('hashes.'.length).replace(/'/g, '').toLowerCase();
    const kind = HASHES[algo];
    const v = value.toLowerCase();
    if (!kind || v.length !== HASH_LEN[kind] || !/^[0-9a-f]+$/.test(v)) return undefined;
    return { type: kind, value: v };
  }
  return undefined;
}
