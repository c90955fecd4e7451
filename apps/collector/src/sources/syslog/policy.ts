import { parseDocument } from 'yaml';
import { parseCidr, parseIp } from '@citysoc/enrich';
import { decoderByName, isValidTimeZone, type SyslogDecoder } from '@citysoc/syslog';

/**
 * Who may send and how each sender is read: CIDR allowlists, the per-source registry (time zone, pinned
 * format, rate limit, silence threshold), token buckets. Pure and clock-free: callers pass `now`.
 */

/** `auto`, `rfc5424`, `rfc3164` or a decoder name: what a listener or source may pin. */
export type FormatPin =
  | { kind: 'auto' }
  | { kind: 'envelope'; strict: 'rfc5424' | 'rfc3164' }
  | { kind: 'decoder'; decoder: SyslogDecoder };

export function parseFormat(name: string): FormatPin | undefined {
  if (name === 'auto') return { kind: 'auto' };
  if (name === 'rfc5424' || name === 'rfc3164') return { kind: 'envelope', strict: name };
  const decoder = decoderByName(name);
  return decoder ? { kind: 'decoder', decoder } : undefined;
}

type Prefix = { family: 4 | 6; network: bigint; prefix: number };

function contains(c: Prefix, family: 4 | 6, value: bigint): boolean {
  if (c.family !== family) return false;
  const bits = family === 4 ? 32 : 128;
  if (c.prefix === 0) return true;
  const host = BigInt(bits - c.prefix);
  return (value >> host) << host === c.network;
}

/** A set of CIDRs (IPv4 and IPv6; IPv4-mapped IPv6 senders match IPv4 entries). Empty means everyone. */
export class CidrSet {
  private readonly cache = new Map<string, boolean>();

  private constructor(private readonly prefixes: Prefix[]) {}

  static readonly ANY = new CidrSet([]);

  static parse(entries: readonly string[]): { set: CidrSet; errors: string[] } {
    const errors: string[] = [];
    const prefixes: Prefix[] = [];
    for (const e of entries) {
      const c = parseCidr(e.trim());
      if (c) prefixes.push(c);
      else errors.push(`"${e}" is not an IPv4/IPv6 address or CIDR`);
    }
    return { set: new CidrSet(prefixes), errors };
  }

  get isOpen(): boolean {
    return this.prefixes.length === 0;
  }

  has(ip: string): boolean {
    if (this.prefixes.length === 0) return true;
    let hit = this.cache.get(ip);
    if (hit === undefined) {
      const a = parseIp(ip);
      hit = a !== undefined && this.prefixes.some((c) => contains(c, a.family, a.value));
      // Bounded: a scan from many addresses must not grow memory without limit.
      if (this.cache.size >= 65_536) this.cache.clear();
      this.cache.set(ip, hit);
    }
    return hit;
  }

  /** The longest prefix length that covers ip, or -1. */
  longestMatch(ip: string): number {
    const a = parseIp(ip);
    if (!a) return -1;
    let best = -1;
    for (const c of this.prefixes) if (c.prefix > best && contains(c, a.family, a.value)) best = c.prefix;
    return best;
  }
}

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * Token bucket. `take` may run into debt (TCP: the frames were already read), and `waitMs` says how long
 * until the balance is positive again — how long to pause the socket.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(
        this.limit.burst,
        this.tokens + ((now - this.last) / 1000) * this.limit.perSecond,
      );
      this.last = now;
    }
  }

  /** UDP: take one token if there is one. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** TCP: take n tokens, going into debt if needed; true when the balance is still non-negative. */
  take(n: number, now: number): boolean {
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0;
  }

  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.limit.perSecond) * 1000);
  }
}

export interface SourcePolicy {
  /** Registry name, or the sender's address for senders not in the registry. */
  name: string;
  registered: boolean;
  timezone: string;
  format?: FormatPin;
  rateLimit?: RateLimit;
  /** 0 = never reported silent. */
  silentAfterMs: number;
}

export interface SourceDefaults {
  timezone: string;
  rateLimit?: RateLimit;
  silentAfterMs: number;
}

interface Entry {
  cidrs: CidrSet;
  policy: SourcePolicy;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * The per-source registry (YAML, `sources:` list). A sender matches the entry with the most specific CIDR;
 * senders that match none get the defaults under their own address.
 */
export class SourceRegistry {
  private readonly cache = new Map<string, SourcePolicy>();

  private constructor(
    private readonly entries: Entry[],
    private readonly defaults: SourceDefaults,
  ) {}

  static empty(defaults: SourceDefaults): SourceRegistry {
    return new SourceRegistry([], defaults);
  }

  static fromYaml(
    text: string,
    file: string,
    defaults: SourceDefaults,
  ): { registry: SourceRegistry; errors: string[] } {
    const errors: string[] = [];
    const doc = parseDocument(text);
    for (const e of doc.errors) errors.push(`${file}: ${e.message}`);
    const raw = (doc.toJS() as { sources?: unknown } | null)?.sources;
    if (!Array.isArray(raw))
      return {
        registry: SourceRegistry.empty(defaults),
        errors: [...errors, `${file}: expected a top-level \`sources:\` list`],
      };
    const entries: Entry[] = [];
    const names = new Set<string>();
    raw.forEach((s: unknown, i) => {
      const at = `${file}: sources[${i}]`;
      const d = (s ?? {}) as Record<string, unknown>;
      const known = ['name', 'cidrs', 'timezone', 'format', 'rate_limit', 'silent_after_seconds'];
      for (const k of Object.keys(d)) if (!known.includes(k)) errors.push(`${at}: unknown key ${k}`);
      if (typeof d.name !== 'string' || !NAME.test(d.name)) {
        errors.push(`${at}: name must match ${NAME.source}`);
        return;
      }
      const name = d.name;
      if (names.has(name)) errors.push(`${at}: duplicate name ${name}`);
      names.add(name);
      const list = Array.isArray(d.cidrs) ? d.cidrs.filter((c): c is string => typeof c === 'string') : [];
      if (list.length === 0) errors.push(`${at} (${d.name}): cidrs must list at least one address or CIDR`);
      const { set, errors: cidrErrors } = CidrSet.parse(list);
      errors.push(...cidrErrors.map((e) => `${at} (${name}): ${e}`));
      const policy: SourcePolicy = {
        name: d.name,
        registered: true,
        timezone: defaults.timezone,
        silentAfterMs: defaults.silentAfterMs,
        ...(defaults.rateLimit ? { rateLimit: defaults.rateLimit } : {}),
      };
      if (d.timezone !== undefined) {
        if (typeof d.timezone === 'string' && isValidTimeZone(d.timezone)) policy.timezone = d.timezone;
        else errors.push(`${at} (${d.name}): timezone must be an IANA zone`);
      }
      if (d.format !== undefined) {
        const f = typeof d.format === 'string' ? parseFormat(d.format) : undefined;
        if (f) policy.format = f;
        else errors.push(`${at} (${d.name}): format must be auto, rfc5424, rfc3164 or a decoder name`);
      }
      if (d.rate_limit !== undefined) {
        const r = d.rate_limit === null ? null : (d.rate_limit as { per_second?: unknown; burst?: unknown });
        const ps = r?.per_second;
        const burst = r?.burst ?? ps;
        if (r === null) delete policy.rateLimit;
        else if (typeof ps === 'number' && ps > 0 && typeof burst === 'number' && burst >= 1)
          policy.rateLimit = { perSecond: ps, burst };
        else
          errors.push(`${at} (${d.name}): rate_limit needs per_second > 0 and burst >= 1 (or null for none)`);
      }
      if (d.silent_after_seconds !== undefined) {
        const v = d.silent_after_seconds;
        if (typeof v === 'number' && Number.isInteger(v) && v >= 0) policy.silentAfterMs = v * 1000;
        else errors.push(`${at} (${d.name}): silent_after_seconds must be a whole number >= 0`);
      }
      entries.push({ cidrs: set, policy });
    });
    return { registry: new SourceRegistry(entries, defaults), errors };
  }

  get registered(): SourcePolicy[] {
    return this.entries.map((e) => e.policy);
  }

  lookup(ip: string): SourcePolicy {
    let p = this.cache.get(ip);
    if (p) return p;
    let best = -1;
    for (const e of this.entries) {
      const m = e.cidrs.longestMatch(ip);
      if (m > best) {
        best = m;
        p = e.policy;
      }
    }
    p ??= {
      name: ip,
      registered: false,
      timezone: this.defaults.timezone,
      silentAfterMs: this.defaults.silentAfterMs,
      ...(this.defaults.rateLimit ? { rateLimit: this.defaults.rateLimit } : {}),
    };
    if (this.cache.size >= 65_536) this.cache.clear();
    this.cache.set(ip, p);
    return p;
  }
}

/**
 * Per-source "gone silent" tracking: a source is silent when nothing arrived for its silentAfterMs.
 * Registered sources are expected from the start; unregistered ones once they have been heard.
 */
export class SilenceWatch {
  private readonly last = new Map<
    string,
    { at: number; policy: SourcePolicy; silent: boolean; drill?: string }
  >();

  constructor(
    registered: readonly SourcePolicy[],
    now: number,
    private readonly maxTracked = 10_000,
  ) {
    for (const p of registered)
      if (p.silentAfterMs > 0) this.last.set(p.name, { at: now, policy: p, silent: false });
  }

  /**
   * Records a message; returns true when the source had been reported silent (it resumed). `drill` is the
   * drill run the message was attributed to (undefined for real traffic): a source whose last message was a
   * drill's goes silent as part of that drill.
   */
  seen(policy: SourcePolicy, now: number, drill?: string): boolean {
    if (policy.silentAfterMs <= 0) return false;
    const s = this.last.get(policy.name);
    if (s) {
      s.at = now;
      s.drill = drill;
      if (s.silent) {
        s.silent = false;
        return true;
      }
      return false;
    }
    if (this.last.size < this.maxTracked)
      this.last.set(policy.name, { at: now, policy, silent: false, ...(drill ? { drill } : {}) });
    return false;
  }

  /** Sources that just went silent (each reported once per silence), with the drill run of their last message. */
  check(now: number): Array<{ policy: SourcePolicy; lastSeenMs: number; drill?: string }> {
    const out: Array<{ policy: SourcePolicy; lastSeenMs: number; drill?: string }> = [];
    for (const s of this.last.values())
      if (!s.silent && now - s.at >= s.policy.silentAfterMs) {
        s.silent = true;
        out.push({ policy: s.policy, lastSeenMs: s.at, ...(s.drill ? { drill: s.drill } : {}) });
      }
    return out;
  }

  get silentNames(): string[] {
    return [...this.last.values()].filter((s) => s.silent).map((s) => s.policy.name);
  }

  get trackedNames(): string[] {
    return [...this.last.keys()];
  }
}
