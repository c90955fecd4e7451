import { parseIp } from './ip';

export type IocLookupType = 'ipv4-addr' | 'ipv6-addr' | 'domain-name' | 'md5' | 'sha1' | 'sha256';

export interface IocEntry {
  type: IocLookupType;
  value: string;
  /** Where it came from (`national:<collection>`), and the indicator, so a hit can be traced back. */
  source: string;
  indicator_id: string;
}

export interface IocHit {
  field: string;
  value: string;
  source: string;
  indicator_id: string;
}

/**
 * Indicators of compromise pulled from the national collection (apps/reporter stores them in the `iocs`
 * table), as one in-memory map per kind: a lookup is a hash probe, cheap enough for the collector's hot path.
 * Domains match the name itself and its subdomains (an IOC `evil.example` covers `a.evil.example`).
 */
export class IocSet {
  private readonly byKey = new Map<string, IocEntry>();

  constructor(entries: Iterable<IocEntry>) {
    for (const e of entries) {
      const v = normalise(e.type, e.value);
      if (v !== undefined) this.byKey.set(`${e.type}|${v}`, { ...e, value: v });
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  ip(value: string | undefined): IocEntry | undefined {
    if (!value) return undefined;
    const p = parseIp(value.trim());
    if (!p) return undefined;
    const type = p.family === 4 ? 'ipv4-addr' : 'ipv6-addr';
    const v = normalise(type, value);
    return v === undefined ? undefined : this.byKey.get(`${type}|${v}`);
  }

  domain(value: string | undefined): IocEntry | undefined {
    if (!value) return undefined;
    const labels = value.trim().toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const hit = this.byKey.get(`domain-name|${labels.slice(i).join('.')}`);
      if (hit) return hit;
    }
    return undefined;
  }

  hash(value: string | undefined): IocEntry | undefined {
    if (!value) return undefined;
    const v = value.trim().toLowerCase();
    const type = v.length === 32 ? 'md5' : v.length === 40 ? 'sha1' : v.length === 64 ? 'sha256' : undefined;
    return type ? this.byKey.get(`${type}|${v}`) : undefined;
  }

  /** The IOC hits of an event's source/destination addresses and domains (ECS field → value). */
  matchEvent(ev: {
    source?: { ip?: string; domain?: string };
    destination?: { ip?: string; domain?: string };
  }): IocHit[] {
    const hits: IocHit[] = [];
    const add = (field: string, value: string | undefined, e: IocEntry | undefined): void => {
      if (e && value) hits.push({ field, value, source: e.source, indicator_id: e.indicator_id });
    };
    add('source.ip', ev.source?.ip, this.ip(ev.source?.ip));
    add('destination.ip', ev.destination?.ip, this.ip(ev.destination?.ip));
    add('source.domain', ev.source?.domain, this.domain(ev.source?.domain));
    add('destination.domain', ev.destination?.domain, this.domain(ev.destination?.domain));
    return hits;
  }
}

function normalise(type: IocLookupType, value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (type === 'ipv4-addr' || type === 'ipv6-addr') {
    const p = parseIp(v);
    // The numeric value is the canonical form: `2001:DB8::1` and `2001:db8:0::1` are one address.
    return p ? `${p.family}:${p.value.toString(16)}` : undefined;
  }
  return v.length > 0 ? v.replace(/\.$/, '') : undefined;
}

/**
 * Marks an event whose addresses or domains are IOCs: one ECS `threat.enrichments` entry per hit (ECS's
 * indicator-match shape, so Elastic tooling reads it) and `citysoc.ioc` for rules and the console. Returns
 * the hits; an event without any is left untouched.
 */
export function markIocs(
  event: {
    source?: { ip?: string; domain?: string };
    destination?: { ip?: string; domain?: string };
    threat?: unknown;
    /** `citysoc.ioc` is added beside whatever metadata the event carries. */
    citysoc?: object;
  },
  set: IocSet,
): IocHit[] {
  if (set.size === 0) return [];
  const hits = set.matchEvent(event);
  if (hits.length === 0) return hits;
  const previous =
    event.threat && typeof event.threat === 'object' ? (event.threat as Record<string, unknown>) : {};
  const enrichments = hits.map((h) => ({
    matched: { atomic: h.value, field: h.field, type: 'indicator_match_rule' },
    indicator: { provider: h.source, reference: h.indicator_id },
  }));
  event.threat = { ...previous, enrichments };
  event.citysoc = {
    ...event.citysoc,
    ioc: {
      matched: true,
      fields: [...new Set(hits.map((h) => h.field))],
      indicators: [...new Set(hits.map((h) => h.indicator_id))],
    },
  };
  return hits;
}
