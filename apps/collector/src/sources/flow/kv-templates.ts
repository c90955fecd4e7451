import { type KV, type KvEntry } from 'nats';
import {
  type CompiledTemplate,
  type ExporterFacts,
  MemoryTemplateCache,
  type MemoryTemplateCacheOptions,
  type PendingSet,
  type TemplateCache,
  type TemplateCacheStats,
  type TemplateChange,
  type TemplateDef,
  type TemplateScope,
} from '@citysoc/flow';

/*
 * KV layout (one bucket per stream prefix, `<prefix>flow-templates`):
 *   t.<version>.<domain>.<templateId>.<exporter>  → TemplateDef (JSON)
 *   f.<version>.<domain>.<exporter>               → ExporterFacts (JSON): boot time, sampling, interface names
 * The exporter address is written with '.'→'_' (IPv4) or ':'→'-' (IPv6) because KV keys allow neither
 * ':' nor extra '.' tokens in a way we could split back.
 */
export function exporterToken(exporter: string): string {
  return exporter.includes(':') ? exporter.replace(/:/g, '-') : exporter.replace(/\./g, '_');
}

export function exporterFromToken(token: string): string {
  return token.includes('-') ? token.replace(/-/g, ':') : token.replace(/_/g, '.');
}

export function templateKey(scope: TemplateScope, templateId: number): string {
  return `t.${scope.version}.${scope.domain}.${templateId}.${exporterToken(scope.exporter)}`;
}

export function factsKey(scope: TemplateScope): string {
  return `f.${scope.version}.${scope.domain}.${exporterToken(scope.exporter)}`;
}

type ParsedKey =
  { kind: 't'; scope: TemplateScope; templateId: number } | { kind: 'f'; scope: TemplateScope } | undefined;

export function parseKey(key: string): ParsedKey {
  const parts = key.split('.');
  const version = Number(parts[1]);
  const domain = Number(parts[2]);
  if ((version !== 9 && version !== 10) || !Number.isInteger(domain)) return undefined;
  if (parts[0] === 't' && parts.length === 5) {
    const templateId = Number(parts[3]);
    if (!Number.isInteger(templateId)) return undefined;
    return { kind: 't', scope: { exporter: exporterFromToken(parts[4]!), version, domain }, templateId };
  }
  if (parts[0] === 'f' && parts.length === 4)
    return { kind: 'f', scope: { exporter: exporterFromToken(parts[3]!), version, domain } };
  return undefined;
}

export interface KvTemplateStoreHooks {
  /** A KV write or a watched entry failed; decoding goes on from memory. */
  onError(what: string, err: unknown): void;
  /** A template came from the bucket (another replica) while data sets were held: they can be decoded now. */
  onTemplate?(scope: TemplateScope, templateId: number): void;
}

/**
 * The collector's template store: a `MemoryTemplateCache` the decoder reads synchronously, written through
 * to NATS KV on every change (new or changed template, withdrawal, new exporter facts) and filled from a
 * KV watch, so templates survive restarts and every replica behind a load balancer decodes data whose
 * template another replica received. Held data sets stay local: they are bytes in flight, bounded and
 * dead-lettered on expiry by the caller (`onExpired`).
 */
export class KvTemplateStore implements TemplateCache {
  private readonly mem: MemoryTemplateCache;
  /** KV writes issued by the current datagram's decode; `flush()` awaits them before its records count as stored. */
  private writes: Array<Promise<unknown>> = [];
  /** Facts as last written per scope key, to write only changes. */
  private readonly factsWritten = new Map<string, string>();
  private readonly known = new Map<string, { scope: TemplateScope; templateId: number; options: boolean }>();
  private watcher?: { stop(): void };
  /** Templates and facts loaded from KV at start. */
  loaded = 0;
  /**
   * Told of every change to templates or facts, from a datagram or from the bucket, as it happens (the
   * decoding workers' mirrors follow it; see `FlowWorkerPool`).
   */
  onChange?: (c: TemplateChange) => void;

  constructor(
    private readonly kv: KV,
    opts: MemoryTemplateCacheOptions,
    private readonly hooks: KvTemplateStoreHooks,
  ) {
    this.mem = new MemoryTemplateCache(opts);
  }

  /** Loads every stored template and fact, then keeps following the bucket (other replicas' writes). */
  async start(): Promise<void> {
    let ready!: () => void;
    const initialized = new Promise<void>((r) => (ready = r));
    const iter = await this.kv.watch({ key: '>', initializedFn: () => ready() });
    this.watcher = iter;
    void (async () => {
      for await (const e of iter) this.apply(e);
    })().catch((err: unknown) => this.hooks.onError('watch', err));
    await initialized;
  }

  stop(): void {
    this.watcher?.stop();
  }

  private apply(e: KvEntry): void {
    const k = parseKey(e.key);
    if (!k) return;
    try {
      if (e.operation !== 'PUT') {
        if (k.kind === 't') {
          this.mem.withdraw(k.scope, k.templateId);
          this.known.delete(e.key);
          this.onChange?.({ op: 'withdraw', scope: k.scope, templateId: k.templateId });
        }
        return;
      }
      if (k.kind === 't') {
        const def = e.json<TemplateDef>();
        if (def.version !== k.scope.version || def.templateId !== k.templateId || !Array.isArray(def.fields))
          throw new Error(`entry ${e.key} does not match its key`);
        this.mem.put(k.scope, def);
        this.known.set(e.key, { scope: k.scope, templateId: k.templateId, options: def.options });
        this.onChange?.({ op: 'put', scope: k.scope, def });
        if (this.mem.stats.pendingSets > 0) this.hooks.onTemplate?.(k.scope, k.templateId);
      } else {
        const stored = e.json<ExporterFacts>();
        Object.assign(this.mem.facts(k.scope), stored);
        this.factsWritten.set(e.key, JSON.stringify(this.mem.facts(k.scope)));
        this.onChange?.({ op: 'facts', scope: k.scope, facts: this.mem.facts(k.scope) });
      }
      this.loaded++;
    } catch (err) {
      this.hooks.onError(`entry ${e.key}`, err);
    }
  }

  private write(p: Promise<unknown>, what: string): void {
    this.writes.push(p.catch((err: unknown) => this.hooks.onError(what, err)));
  }

  /** Resolves when every KV write issued so far is done (failures are reported, not thrown). */
  async flush(): Promise<void> {
    if (this.writes.length === 0) return;
    const w = this.writes;
    this.writes = [];
    await Promise.all(w);
  }

  get(scope: TemplateScope, templateId: number): CompiledTemplate | undefined {
    return this.mem.get(scope, templateId);
  }

  put(scope: TemplateScope, def: TemplateDef): CompiledTemplate {
    const before = this.mem.get(scope, def.templateId);
    const compiled = this.mem.put(scope, def);
    // Exporters repeat templates every few seconds: only a new or changed one is written.
    if (compiled !== before) {
      const key = templateKey(scope, def.templateId);
      this.known.set(key, { scope, templateId: def.templateId, options: def.options });
      this.write(this.kv.put(key, Buffer.from(JSON.stringify(def))), `put ${key}`);
      this.onChange?.({ op: 'put', scope, def });
    }
    return compiled;
  }

  withdraw(scope: TemplateScope, templateId: number): boolean {
    const removed = this.mem.withdraw(scope, templateId);
    this.onChange?.({ op: 'withdraw', scope, templateId });
    const key = templateKey(scope, templateId);
    this.known.delete(key);
    // Deleted even when this replica did not know it: another one may have stored it.
    this.write(this.kv.delete(key), `delete ${key}`);
    return removed;
  }

  withdrawAll(scope: TemplateScope, options: boolean): number {
    const n = this.mem.withdrawAll(scope, options);
    this.onChange?.({ op: 'withdrawAll', scope, options });
    for (const [key, t] of this.known) {
      if (t.options !== options || t.scope.exporter !== scope.exporter) continue;
      if (t.scope.version !== scope.version || t.scope.domain !== scope.domain) continue;
      this.known.delete(key);
      this.write(this.kv.delete(key), `delete ${key}`);
    }
    return n;
  }

  hold(set: PendingSet, now: number): boolean {
    return this.mem.hold(set, now);
  }

  release(scope: TemplateScope, templateId: number, now: number): PendingSet[] {
    return this.mem.release(scope, templateId, now);
  }

  expire(now: number): void {
    this.mem.expire(now);
  }

  facts(scope: TemplateScope): ExporterFacts {
    return this.mem.facts(scope);
  }

  /** Writes the scope's facts if options data changed them (boot time, sampling rates, interface names). */
  saveFacts(scope: TemplateScope): void {
    const key = factsKey(scope);
    const json = JSON.stringify(this.mem.facts(scope));
    if (this.factsWritten.get(key) === json) return;
    this.factsWritten.set(key, json);
    this.onChange?.({ op: 'facts', scope, facts: this.mem.facts(scope) });
    this.write(this.kv.put(key, Buffer.from(json)), `put ${key}`);
  }

  /** Every template and scope's facts, as changes that rebuild a mirror from nothing. */
  snapshot(): TemplateChange[] {
    return this.mem.snapshot();
  }

  get stats(): TemplateCacheStats {
    return this.mem.stats;
  }
}
