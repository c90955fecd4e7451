import { Kind, resolveElement } from './elements/registry';
import type { RecordReader } from './types';

/** One field specifier as the exporter announced it. `length` 65535 = variable length (IPFIX). */
export interface TemplateField {
  id: number;
  /** Private enterprise number; 0 for IANA elements and for every v9 field. */
  pen: number;
  length: number;
  /** v9 options-template scope field (its id is a scope type, not an element id). */
  scope?: boolean;
}

/** A template as announced: serialisable, so a shared store (NATS KV) can hold it across restarts. */
export interface TemplateDef {
  version: 9 | 10;
  templateId: number;
  /** True for options templates: their data describe the exporter, not flows. */
  options: boolean;
  scopeCount: number;
  fields: TemplateField[];
}

/** Where a template or a held data set belongs. Template ids are only unique within this scope. */
export interface TemplateScope {
  exporter: string;
  version: 9 | 10;
  domain: number;
}

export const VARIABLE_LENGTH = 65535;

/** Time roles let the record loop pick up flow start/end without a second pass over names. */
export enum Role {
  None = 0,
  Start = 1,
  End = 2,
  StartUptime = 3,
  EndUptime = 4,
  StartDeltaUs = 5,
  EndDeltaUs = 6,
  SysInit = 7,
  DurationMs = 8,
}

/**
 * A template turned once into a field-reader plan: parallel arrays the record loop walks without
 * lookups or closures. `minLength` is the shortest possible record, used to tell records from padding.
 */
export interface CompiledTemplate {
  def: TemplateDef;
  names: string[];
  kinds: Uint8Array;
  lengths: Uint16Array;
  roles: Uint8Array;
  minLength: number;
  /** Where the template was learnt (set by the cache that holds it). */
  scope?: TemplateScope;
  /** The generated record reader (see `readerFor`), made when the first data set needs it. */
  read?: RecordReader;
  /** The reader with IPv4 elements as numbers (`DecodeContext.numericAddresses`). */
  readNum?: RecordReader;
}

const ROLE_BY_IANA: Record<number, Role> = {
  150: Role.Start,
  151: Role.End,
  152: Role.Start,
  153: Role.End,
  154: Role.Start,
  155: Role.End,
  156: Role.Start,
  157: Role.End,
  22: Role.StartUptime,
  21: Role.EndUptime,
  158: Role.StartDeltaUs,
  159: Role.EndDeltaUs,
  160: Role.SysInit,
  161: Role.DurationMs,
};

export function compileTemplate(def: TemplateDef): CompiledTemplate {
  const n = def.fields.length;
  const names: string[] = [];
  const kinds = new Uint8Array(n);
  const lengths = new Uint16Array(n);
  const roles = new Uint8Array(n);
  let minLength = 0;
  for (let i = 0; i < n; i++) {
    const f = def.fields[i]!;
    const info = resolveElement(def.version, f.pen, f.id, f.scope === true);
    names.push(info.name);
    lengths[i] = f.length;
    kinds[i] = f.length === 0 ? Kind.Skip : info.kind;
    roles[i] =
      f.pen === 0 && f.scope !== true && f.length > 0 ? (ROLE_BY_IANA[f.id] ?? Role.None) : Role.None;
    minLength += f.length === VARIABLE_LENGTH ? 1 : f.length;
  }
  return { def, names, kinds, lengths, roles, minLength };
}

/** A data set whose template had not arrived yet, with the header facts needed to decode it later. */
export interface PendingSet {
  scope: TemplateScope;
  templateId: number;
  /** A copy: the datagram buffer may be reused by the listener. */
  data: Buffer;
  sequence: number;
  exportTime: number;
  /** v9 only: header sysUptime, to turn first/last switched into wall-clock times. */
  sysUptime: number;
  messageIndex: number;
  setIndex: number;
  heldAt: number;
}

/**
 * What options data told us about an exporter scope and flow data of that scope needs: the exporter's
 * boot time (IPFIX flowStart/EndSysUpTime are relative to it) and its packet sampling rate.
 */
export interface ExporterFacts {
  /** systemInitTimeMilliseconds, epoch ms. */
  sysInitMs?: number;
  /** 1 in N packets sampled (samplingInterval, samplingPacketInterval/Space, v5 header). */
  samplingRate?: number;
  /** Rates per sampler/selector id, for exporters that run several samplers. */
  samplers?: Record<number, number>;
  /** Interface names by SNMP index (options data: interfaceName / interfaceDescription). */
  interfaces?: Record<number, string>;
}

export interface TemplateCacheStats {
  templates: number;
  /** Data sets seen before their template, per exporter. */
  templateMisses: Map<string, number>;
  pendingSets: number;
  pendingBytes: number;
  /** Held sets later decoded / dropped because the bound was hit / dropped because they waited too long. */
  pendingReleased: number;
  pendingOverflow: number;
  pendingExpired: number;
}

/**
 * Templates keyed by exporter address + version + observation domain (source id) + template id, plus the
 * short-lived store of data that came before its template. Synchronous on purpose: the decoder runs per
 * datagram at line rate; a persistent implementation (NATS KV) keeps a local mirror, writes through on
 * `put`/`withdraw` and fills the mirror from its watch.
 */
export interface TemplateCache {
  get(scope: TemplateScope, templateId: number): CompiledTemplate | undefined;
  put(scope: TemplateScope, def: TemplateDef): CompiledTemplate;
  /** Returns whether a template was removed. */
  withdraw(scope: TemplateScope, templateId: number): boolean;
  /** IPFIX "withdraw all" (template id 2 or 3 with no fields): removes the scope's (options) templates. */
  withdrawAll(scope: TemplateScope, options: boolean): number;
  /** Holds a data set until its template arrives; false when it was refused (bound reached). */
  hold(set: PendingSet, now: number): boolean;
  /** Takes the sets held for this template, oldest first. */
  release(scope: TemplateScope, templateId: number, now: number): PendingSet[];
  /** Mutable facts for the scope, created on first use; kept with the templates (same lifetime). */
  facts(scope: TemplateScope): ExporterFacts;
  readonly stats: TemplateCacheStats;
}

export interface MemoryTemplateCacheOptions {
  /** Most data sets held at once, over all exporters (default 1024). */
  maxPendingSets?: number;
  /** Most data sets held for one exporter address, so one noisy exporter cannot crowd out the others (default: maxPendingSets). */
  maxPendingSetsPerExporter?: number;
  /** Most bytes held at once (default 4 MiB). */
  maxPendingBytes?: number;
  /** How long a held set may wait for its template, ms (default 30 s, a typical template refresh). */
  pendingTtlMs?: number;
  /**
   * Called with each held set that waited longer than `pendingTtlMs`, so the caller can keep its bytes
   * (dead letter) instead of losing them silently.
   */
  onExpired?: (set: PendingSet) => void;
}

export function scopeKey(scope: TemplateScope): string {
  return `${scope.exporter}|${scope.version}|${scope.domain}`;
}

function splitScopeKey(key: string): [string, 9 | 10, number] {
  const b = key.lastIndexOf('|');
  const a = key.lastIndexOf('|', b - 1);
  return [key.slice(0, a), Number(key.slice(a + 1, b)) as 9 | 10, Number(key.slice(b + 1))];
}

/** One change to a template cache, as a decoding worker's mirror applies it (see `applyChange`). */
export type TemplateChange =
  | { op: 'put'; scope: TemplateScope; def: TemplateDef }
  | { op: 'withdraw'; scope: TemplateScope; templateId: number }
  | { op: 'withdrawAll'; scope: TemplateScope; options: boolean }
  | { op: 'facts'; scope: TemplateScope; facts: ExporterFacts };

/** Applies a change (from the cache that learnt it) to a mirror. */
export function applyChange(cache: TemplateCache, c: TemplateChange): void {
  switch (c.op) {
    case 'put':
      cache.put(c.scope, c.def);
      break;
    case 'withdraw':
      cache.withdraw(c.scope, c.templateId);
      break;
    case 'withdrawAll':
      cache.withdrawAll(c.scope, c.options);
      break;
    case 'facts': {
      const f = cache.facts(c.scope);
      for (const k of Object.keys(f)) delete (f as Record<string, unknown>)[k];
      Object.assign(f, c.facts);
      break;
    }
  }
}

export class MemoryTemplateCache implements TemplateCache {
  private readonly templates = new Map<string, Map<number, CompiledTemplate>>();
  private readonly pending = new Map<string, PendingSet[]>();
  private readonly scopeFacts = new Map<string, ExporterFacts>();
  private readonly maxPendingSets: number;
  private readonly maxPendingPerExporter: number;
  private readonly pendingByExporter = new Map<string, number>();
  private readonly maxPendingBytes: number;
  private readonly pendingTtlMs: number;
  private readonly onExpired: ((set: PendingSet) => void) | undefined;
  readonly stats: TemplateCacheStats = {
    templates: 0,
    templateMisses: new Map(),
    pendingSets: 0,
    pendingBytes: 0,
    pendingReleased: 0,
    pendingOverflow: 0,
    pendingExpired: 0,
  };

  constructor(opts: MemoryTemplateCacheOptions = {}) {
    this.maxPendingSets = opts.maxPendingSets ?? 1024;
    this.maxPendingPerExporter = opts.maxPendingSetsPerExporter ?? this.maxPendingSets;
    this.maxPendingBytes = opts.maxPendingBytes ?? 4 * 1024 * 1024;
    this.pendingTtlMs = opts.pendingTtlMs ?? 30_000;
    this.onExpired = opts.onExpired;
  }

  get(scope: TemplateScope, templateId: number): CompiledTemplate | undefined {
    return this.templates.get(scopeKey(scope))?.get(templateId);
  }

  put(scope: TemplateScope, def: TemplateDef): CompiledTemplate {
    const key = scopeKey(scope);
    let byId = this.templates.get(key);
    if (!byId) {
      byId = new Map();
      this.templates.set(key, byId);
    }
    // Exporters resend templates every few seconds; keep the compiled plan when nothing changed.
    const old = byId.get(def.templateId);
    if (old && sameDef(old.def, def)) return old;
    const compiled = compileTemplate(def);
    compiled.scope = scope;
    if (!old) this.stats.templates++;
    byId.set(def.templateId, compiled);
    return compiled;
  }

  withdraw(scope: TemplateScope, templateId: number): boolean {
    const removed = this.templates.get(scopeKey(scope))?.delete(templateId) ?? false;
    if (removed) this.stats.templates--;
    return removed;
  }

  withdrawAll(scope: TemplateScope, options: boolean): number {
    const byId = this.templates.get(scopeKey(scope));
    if (!byId) return 0;
    let n = 0;
    for (const [id, t] of byId) {
      if (t.def.options === options) {
        byId.delete(id);
        n++;
      }
    }
    this.stats.templates -= n;
    return n;
  }

  facts(scope: TemplateScope): ExporterFacts {
    const key = scopeKey(scope);
    let f = this.scopeFacts.get(key);
    if (!f) {
      f = {};
      this.scopeFacts.set(key, f);
    }
    return f;
  }

  /** Every template and every scope's facts, to seed another cache (a decoding worker) with this state. */
  snapshot(): TemplateChange[] {
    const out: TemplateChange[] = [];
    for (const byId of this.templates.values())
      for (const t of byId.values()) {
        const scope = t.scope;
        if (scope) out.push({ op: 'put', scope, def: t.def });
      }
    for (const [key, facts] of this.scopeFacts) {
      const [exporter, version, domain] = splitScopeKey(key);
      out.push({ op: 'facts', scope: { exporter, version, domain }, facts });
    }
    return out;
  }

  hold(set: PendingSet, now: number): boolean {
    const misses = this.stats.templateMisses;
    misses.set(set.scope.exporter, (misses.get(set.scope.exporter) ?? 0) + 1);
    this.expire(now);
    if (
      this.stats.pendingSets >= this.maxPendingSets ||
      (this.pendingByExporter.get(set.scope.exporter) ?? 0) >= this.maxPendingPerExporter ||
      this.stats.pendingBytes + set.data.length > this.maxPendingBytes
    ) {
      this.stats.pendingOverflow++;
      return false;
    }
    const key = `${scopeKey(set.scope)}|${set.templateId}`;
    const list = this.pending.get(key);
    if (list) list.push(set);
    else this.pending.set(key, [set]);
    this.stats.pendingSets++;
    this.stats.pendingBytes += set.data.length;
    const ex = set.scope.exporter;
    this.pendingByExporter.set(ex, (this.pendingByExporter.get(ex) ?? 0) + 1);
    return true;
  }

  release(scope: TemplateScope, templateId: number, now: number): PendingSet[] {
    if (this.stats.pendingSets === 0) return [];
    this.expire(now);
    const key = `${scopeKey(scope)}|${templateId}`;
    const list = this.pending.get(key);
    if (!list) return [];
    this.pending.delete(key);
    for (const s of list) this.drop(s);
    this.stats.pendingReleased += list.length;
    return list;
  }

  private drop(s: PendingSet): void {
    this.stats.pendingSets--;
    this.stats.pendingBytes -= s.data.length;
    const ex = s.scope.exporter;
    const n = (this.pendingByExporter.get(ex) ?? 1) - 1;
    if (n > 0) this.pendingByExporter.set(ex, n);
    else this.pendingByExporter.delete(ex);
  }

  /** Expires held sets that waited too long; listeners call it on a timer so quiet exporters are covered too. */
  expire(now: number): void {
    if (this.stats.pendingSets === 0) return;
    const limit = now - this.pendingTtlMs;
    for (const [key, list] of this.pending) {
      let keep = 0;
      while (keep < list.length && list[keep]!.heldAt < limit) keep++;
      if (keep === 0) continue;
      for (const s of list.splice(0, keep)) {
        this.drop(s);
        this.stats.pendingExpired++;
        this.onExpired?.(s);
      }
      if (list.length === 0) this.pending.delete(key);
    }
  }
}

function sameDef(a: TemplateDef, b: TemplateDef): boolean {
  if (a.options !== b.options || a.scopeCount !== b.scopeCount || a.fields.length !== b.fields.length)
    return false;
  for (let i = 0; i < a.fields.length; i++) {
    const x = a.fields[i]!;
    const y = b.fields[i]!;
    if (
      x.id !== y.id ||
      x.pen !== y.pen ||
      x.length !== y.length ||
      (x.scope ?? false) !== (y.scope ?? false)
    )
      return false;
  }
  return true;
}
