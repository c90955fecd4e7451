import Mock from '@elastic/elasticsearch-mock';
import { Client, errors } from '@elastic/elasticsearch';
import { getField } from '@citysoc/ecs';

/**
 * A small in-memory Elasticsearch behind `@elastic/elasticsearch-mock`, for tests: it keeps what it is sent
 * (policies, templates, documents per data stream), answers bulk/search/count the way Elasticsearch does
 * for the subset of the query DSL the store and the Sigma backend emit, and records every request so tests
 * can assert the exact paths and bodies. Anything outside that subset fails loudly instead of matching.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  querystring: Record<string, unknown>;
  body: unknown;
}

type Doc = Record<string, unknown>;
/** A stored document; `stream` (its data stream) selects the mappings, absent for bare query evaluation. */
type Hit = { id: string; doc: Doc; stream?: string };
type BulkOp = { create?: { _index: string; _id: string } } & Record<string, unknown>;
/** Per-item override: return a status and error type to fail that item, undefined to process it. */
export type ItemFault = (
  op: { index: string; id: string; doc: Doc },
  attempt: number,
) => { status: number; type: string; reason: string } | undefined;

interface MockParams {
  method: string;
  path: string;
  querystring: Record<string, unknown>;
  body: unknown;
}

const ack = { acknowledged: true };

export class FakeCluster {
  readonly mock = new Mock();
  readonly requests: RecordedRequest[] = [];
  readonly policies = new Map<string, unknown>();
  readonly componentTemplates = new Map<string, Record<string, unknown>>();
  readonly indexTemplates = new Map<string, Record<string, unknown>>();
  /** data stream name -> _id -> source */
  readonly streams = new Map<string, Map<string, Doc>>();
  /**
   * Regular indices (not data streams), for documents addressed by id: index name -> _id -> the source and
   * the `_seq_no`/`_primary_term` Elasticsearch would answer, for optimistic concurrency.
   */
  readonly indices = new Map<string, Map<string, { doc: Doc; seqNo: number; primaryTerm: number }>>();
  private nextSeqNo = 0;
  /**
   * When true, searches of regular indices see what the last refresh made visible, as Elasticsearch does
   * (GET by id stays real-time): an explicit `_refresh`, or a write with `refresh=true|wait_for`. Off by
   * default because the event and audit tests predate it.
   */
  modelRefresh = false;
  /** index -> _id -> source as of the index's last refresh (used when modelRefresh is on). */
  private readonly searchable = new Map<string, Map<string, Doc>>();
  /**
   * Runs before a single-document write is applied, so a test can interleave another writer; an error it
   * returns is the answer instead (thrown errors would escape the mock).
   */
  beforeWrite?: (index: string, id: string) => Error | undefined | void;
  /** Whole-request failures to answer before behaving normally (e.g. [429, 503]). */
  bulkStatusQueue: number[] = [];
  itemFault?: ItemFault;
  private bulkAttempts = 0;

  constructor() {
    const on = (method: string, path: string, fn: (p: MockParams) => unknown) =>
      this.mock.add({ method, path }, (p) => {
        const params = p as unknown as MockParams;
        this.requests.push({
          method: params.method,
          path: params.path,
          querystring: { ...params.querystring },
          body: params.body,
        });
        return fn(params) as Record<string, unknown> | string;
      });
    on('HEAD', '/', () => '');
    on('PUT', '/_ilm/policy/:name', (p) => (this.policies.set(last(p.path), p.body), ack));
    on('PUT', '/_component_template/:name', (p) => {
      this.componentTemplates.set(last(p.path), p.body as Record<string, unknown>);
      return ack;
    });
    on('PUT', '/_index_template/:name', (p) => {
      this.indexTemplates.set(last(p.path), p.body as Record<string, unknown>);
      return ack;
    });
    on('POST', '/_bulk', (p) => this.bulk(p));
    on('PUT', '/_bulk', (p) => this.bulk(p));
    on('GET', '/_data_stream/:name', (p) => this.dataStreams(decodeURIComponent(p.path.split('/')[2] ?? '')));
    on('GET', '/_data_stream/:name/_stats', (p) =>
      this.dataStreamStats(decodeURIComponent(p.path.split('/')[2] ?? '')),
    );
    on('GET', '/:index/_ilm/explain', (p) => this.explain(decodeURIComponent(p.path.split('/')[1] ?? '')));
    on('GET', '/:index/_stats/:metric', (p) =>
      this.indexStats(decodeURIComponent(p.path.split('/')[1] ?? '')),
    );
    on('PUT', '/:index/_doc/:id', (p) => this.indexDoc(p));
    on('POST', '/:index/_doc/:id', (p) => this.indexDoc(p));
    on('GET', '/:index/_doc/:id', (p) => this.getDoc(p));
    on('DELETE', '/:index/_doc/:id', (p) => this.deleteDoc(p));
    on('POST', '/:index/_mget', (p) => this.mget(p));
    // The client sends GET without a body; Elasticsearch takes POST too.
    for (const method of ['GET', 'POST'])
      on(method, '/:index/_refresh', (p) => {
        for (const index of decodeURIComponent(p.path.split('/')[1] ?? '').split(',')) this.refresh(index);
        return { _shards: { total: 1, successful: 1, failed: 0 } };
      });
    on('POST', '/:index/_search', (p) => this.search(decodeURIComponent(p.path.split('/')[1] ?? ''), p.body));
    on('POST', '/:index/_count', (p) => this.count(decodeURIComponent(p.path.split('/')[1] ?? '')));
    on('GET', '/:index/_mapping', (p) => this.getMapping(decodeURIComponent(p.path.split('/')[1] ?? '')));
    on('PUT', '/:index/_mapping', (p) =>
      this.putMapping(
        decodeURIComponent(p.path.split('/')[1] ?? ''),
        p.body as { properties?: Record<string, unknown> },
      ),
    );
    // The fake searches `_source` through the current mapping, so re-indexing in place has nothing to do.
    on('POST', '/:index/_update_by_query', () => ({ task: `fake-node:${this.nextSeqNo++}` }));
    on('GET', '/:index/_count', (p) => this.count(decodeURIComponent(p.path.split('/')[1] ?? '')));
  }

  client(): Client {
    // The mock's connection lacks close(), which Client.close() calls on every connection.
    const Base = this.mock.getConnection();
    class Closable extends Base {
      override async close(): Promise<void> {}
    }
    return new Client({ node: 'http://fake-es:9200', Connection: Closable, maxRetries: 0 });
  }

  requestsTo(method: string, pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  /** What a refresh does: the index's current documents become visible to search. */
  refresh(index: string): void {
    const pat = globToRegex(index);
    for (const [name, docs] of this.indices)
      if (pat.test(name)) this.searchable.set(name, new Map([...docs].map(([id, e]) => [id, e.doc])));
  }

  allDocs(): Array<{ stream: string; id: string; doc: Doc }> {
    return [...this.streams].flatMap(([stream, m]) => [...m].map(([id, doc]) => ({ stream, id, doc })));
  }

  private bulk(p: MockParams): unknown {
    const status = this.bulkStatusQueue.shift();
    if (status !== undefined) {
      return new errors.ResponseError({
        body: { error: { type: status === 429 ? 'es_rejected_execution_exception' : 'unavailable' }, status },
        statusCode: status,
        warnings: null,
        meta: {} as never,
      });
    }
    const attempt = this.bulkAttempts++;
    const lines = p.body as unknown[];
    const items: unknown[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const op = lines[i] as BulkOp;
      const doc = lines[i + 1] as Doc;
      if (!op.create)
        throw new Error(`fake cluster: only create ops are expected, got ${JSON.stringify(op)}`);
      const { _index: index, _id: id } = op.create;
      const fault = this.itemFault?.({ index, id, doc }, attempt);
      if (fault) {
        items.push({
          create: {
            _index: index,
            _id: id,
            status: fault.status,
            error: { type: fault.type, reason: fault.reason },
          },
        });
        continue;
      }
      if (!this.templateFor(index)) {
        items.push({
          create: {
            _index: index,
            _id: id,
            status: 400,
            error: { type: 'index_not_found_exception', reason: `no template matches ${index}` },
          },
        });
        continue;
      }
      // A regular index (its template has no data_stream): documents addressed by id, as indexDoc keeps them.
      if (!('data_stream' in (this.templateFor(index) ?? {}))) {
        const docs =
          this.indices.get(index) ?? new Map<string, { doc: Doc; seqNo: number; primaryTerm: number }>();
        this.createIndex(index);
        this.indices.set(index, docs);
        if (docs.has(id)) {
          items.push({
            create: {
              _index: index,
              _id: id,
              status: 409,
              error: {
                type: 'version_conflict_engine_exception',
                reason: `[${id}]: version conflict, document already exists`,
              },
            },
          });
          continue;
        }
        docs.set(id, { doc, seqNo: this.nextSeqNo++, primaryTerm: 1 });
        items.push({ create: { _index: index, _id: id, status: 201, result: 'created' } });
        continue;
      }
      if (typeof doc['@timestamp'] !== 'string') {
        items.push({
          create: {
            _index: index,
            _id: id,
            status: 400,
            error: { type: 'illegal_argument_exception', reason: 'data stream requires @timestamp' },
          },
        });
        continue;
      }
      const stream = this.streams.get(index) ?? new Map<string, Doc>();
      this.streams.set(index, stream);
      if (stream.has(id)) {
        items.push({
          create: {
            _index: index,
            _id: id,
            status: 409,
            error: {
              type: 'version_conflict_engine_exception',
              reason: `[${id}]: version conflict, document already exists`,
            },
          },
        });
        continue;
      }
      stream.set(id, doc);
      items.push({ create: { _index: index, _id: id, status: 201, result: 'created' } });
    }
    return {
      took: 1,
      errors: items.some((it) => (it as { create: { status: number } }).create.status >= 300),
      items,
    };
  }

  private docPath(p: MockParams): { index: string; id: string } {
    const [, index = '', , id = ''] = p.path.split('/');
    return { index: decodeURIComponent(index), id: decodeURIComponent(id) };
  }

  static error(status: number, type: string, reason: string): errors.ResponseError {
    return new errors.ResponseError({
      body: { error: { type, reason }, status },
      statusCode: status,
      warnings: null,
      meta: {} as never,
    });
  }

  /** `PUT /<index>/_doc/<id>` with `op_type=create` or `if_seq_no`/`if_primary_term`, as Elasticsearch. */
  private indexDoc(p: MockParams): unknown {
    const { index, id } = this.docPath(p);
    const injected = this.beforeWrite?.(index, id);
    if (injected) return injected;
    const qs = p.querystring;
    const docs =
      this.indices.get(index) ?? new Map<string, { doc: Doc; seqNo: number; primaryTerm: number }>();
    const cur = docs.get(id);
    if (qs['op_type'] === 'create' && cur)
      return FakeCluster.error(
        409,
        'version_conflict_engine_exception',
        `[${id}]: version conflict, document already exists (current version [1])`,
      );
    if (qs['if_seq_no'] !== undefined || qs['if_primary_term'] !== undefined) {
      if (
        !cur ||
        String(cur.seqNo) !== String(qs['if_seq_no']) ||
        String(cur.primaryTerm) !== String(qs['if_primary_term'])
      )
        return FakeCluster.error(
          409,
          'version_conflict_engine_exception',
          `[${id}]: version conflict, required seqNo [${String(qs['if_seq_no'])}], primary term [${String(qs['if_primary_term'])}]`,
        );
    }
    const entry = { doc: p.body as Doc, seqNo: this.nextSeqNo++, primaryTerm: 1 };
    docs.set(id, entry);
    this.createIndex(index);
    this.indices.set(index, docs);
    if (qs['refresh'] === 'true' || qs['refresh'] === 'wait_for' || qs['refresh'] === '') this.refresh(index);
    return {
      _index: index,
      _id: id,
      _version: 1,
      result: cur ? 'updated' : 'created',
      _seq_no: entry.seqNo,
      _primary_term: entry.primaryTerm,
      _shards: { total: 1, successful: 1, failed: 0 },
    };
  }

  private getDoc(p: MockParams): unknown {
    const { index, id } = this.docPath(p);
    const docs = this.indices.get(index);
    if (!docs) return FakeCluster.error(404, 'index_not_found_exception', `no such index [${index}]`);
    const cur = docs.get(id);
    if (!cur)
      return new errors.ResponseError({
        body: { _index: index, _id: id, found: false },
        statusCode: 404,
        warnings: null,
        meta: {} as never,
      });
    return {
      _index: index,
      _id: id,
      _version: 1,
      _seq_no: cur.seqNo,
      _primary_term: cur.primaryTerm,
      found: true,
      _source: cur.doc,
    };
  }

  private deleteDoc(p: MockParams): unknown {
    const { index, id } = this.docPath(p);
    const docs = this.indices.get(index);
    const cur = docs?.get(id);
    const qs = p.querystring as { if_seq_no?: string | number; if_primary_term?: string | number };
    if (
      cur &&
      qs.if_seq_no !== undefined &&
      (String(cur.seqNo) !== String(qs.if_seq_no) || String(cur.primaryTerm) !== String(qs.if_primary_term))
    )
      return FakeCluster.error(409, 'version_conflict_engine_exception', `[${id}]: version conflict`);
    if (!docs?.delete(id)) return FakeCluster.error(404, 'not_found', `[${id}] not found`);
    const r = (p.querystring as { refresh?: string }).refresh;
    if (r === 'true' || r === 'wait_for') this.refresh(index);
    return { _index: index, _id: id, result: 'deleted', _seq_no: this.nextSeqNo++, _primary_term: 1 };
  }

  private mget(p: MockParams): unknown {
    const index = decodeURIComponent(p.path.split('/')[1] ?? '');
    const docs = this.indices.get(index);
    if (!docs) return FakeCluster.error(404, 'index_not_found_exception', `no such index [${index}]`);
    const ids = (p.body as { ids?: string[] }).ids;
    if (!ids) throw new Error(`fake cluster: only _mget by ids is expected, got ${JSON.stringify(p.body)}`);
    return {
      docs: ids.map((id) => {
        const cur = docs.get(id);
        return cur
          ? {
              _index: index,
              _id: id,
              _version: 1,
              _seq_no: cur.seqNo,
              _primary_term: cur.primaryTerm,
              found: true,
              _source: cur.doc,
            }
          : { _index: index, _id: id, found: false };
      }),
    };
  }

  /** Index template with the highest priority whose pattern matches, as Elasticsearch chooses. */
  templateFor(index: string): Record<string, unknown> | undefined {
    let best: Record<string, unknown> | undefined;
    for (const t of this.indexTemplates.values()) {
      const patterns = (t['index_patterns'] as string[]) ?? [];
      if (!patterns.some((pat) => globToRegex(pat).test(index))) continue;
      if (!best || Number(t['priority']) > Number(best['priority'])) best = t;
    }
    return best;
  }

  /**
   * Field type from the installed component templates (dotted path, sub-fields included), or, for a
   * regular index whose index template carries its own mappings (the incident indices), from those.
   */
  fieldType(path: string, index?: string): string | undefined {
    const own = index === undefined ? undefined : this.ownMappings(index);
    const sources = own ? [{ template: { mappings: own } }] : [...this.componentTemplates.values()];
    for (const ct of sources) {
      const tmpl = ct['template'] as { mappings?: { properties?: Record<string, unknown> } } | undefined;
      let props: Record<string, unknown> | undefined = tmpl?.mappings?.properties;
      let found: Record<string, unknown> | undefined;
      const parts = path.split('.');
      for (let i = 0; i < parts.length && props; i++) {
        const key = parts.slice(i).join('.') in props ? parts.slice(i).join('.') : (parts[i] as string);
        const def = props[key] as Record<string, unknown> | undefined;
        if (!def) {
          found = undefined;
          break;
        }
        if (key.includes('.') || i === parts.length - 1) {
          found = def;
          break;
        }
        props = (def['properties'] as Record<string, unknown>) ?? (def['fields'] as Record<string, unknown>);
      }
      if (found && typeof found['type'] === 'string') return found['type'];
    }
    return undefined;
  }

  /**
   * Whether a field is searchable under the installed mappings: not below an object with `enabled: false`,
   * and not an unmapped field below one with `dynamic: false` (Elasticsearch stores those, indexes nothing).
   */
  indexed(path: string, stream: string): boolean {
    const parts = path.split('.');
    const own = this.ownMappings(stream);
    if (own) {
      // `dynamic` is inherited: under `dynamic: false` an unmapped field is stored, never indexed.
      let dynamic = own['dynamic'];
      let props = own['properties'] as Record<string, unknown> | undefined;
      for (const part of parts) {
        const def = props?.[part] as Record<string, unknown> | undefined;
        if (!def) return dynamic !== false;
        if (def['enabled'] === false) return false;
        if (def['dynamic'] !== undefined) dynamic = def['dynamic'];
        props = def['properties'] as Record<string, unknown> | undefined;
      }
      return true;
    }
    const composed = (this.templateFor(stream)?.['composed_of'] as string[] | undefined) ?? [];
    for (const ct of composed.flatMap((n): Array<Record<string, unknown>> => {
      const t = this.componentTemplates.get(n);
      return t ? [t] : [];
    })) {
      const tmpl = ct['template'] as { mappings?: { properties?: Record<string, unknown> } } | undefined;
      let props: Record<string, unknown> | undefined = tmpl?.mappings?.properties;
      for (let i = 0; i < parts.length && props; i++) {
        const def = props[parts[i] as string] as Record<string, unknown> | undefined;
        if (!def) break;
        if (def['enabled'] === false) return false;
        const sub = def['properties'] as Record<string, unknown> | undefined;
        const next = parts[i + 1];
        if (def['dynamic'] === false && next !== undefined && !(sub && next in sub)) return false;
        props = sub;
      }
    }
    return true;
  }

  /** The mappings an index template declares itself (not through component templates), if any. */
  private ownMappings(index: string): Record<string, unknown> | undefined {
    const created = this.indexMappings.get(index);
    if (created) return created;
    const t = this.templateFor(index)?.['template'] as { mappings?: Record<string, unknown> } | undefined;
    return t?.mappings;
  }

  /**
   * A regular index takes its template's mappings when it is created and keeps them, as Elasticsearch: a
   * template PUT later reaches only indices created after it, a `PUT <index>/_mapping` adds fields.
   */
  readonly indexMappings = new Map<string, Record<string, unknown>>();

  private createIndex(index: string): void {
    if (this.indices.has(index) || this.indexMappings.has(index)) return;
    const t = this.templateFor(index)?.['template'] as { mappings?: Record<string, unknown> } | undefined;
    if (t?.mappings) this.indexMappings.set(index, structuredClone(t.mappings));
  }

  private getMapping(index: string): unknown {
    const m = this.indexMappings.get(index);
    if (!m) return FakeCluster.error(404, 'index_not_found_exception', `no such index [${index}]`);
    return { [index]: { mappings: m } };
  }

  /** Merges properties as Elasticsearch does: new fields are added, a changed type is refused. */
  private putMapping(index: string, body: { properties?: Record<string, unknown> }): unknown {
    const m = this.indexMappings.get(index);
    if (!m) return FakeCluster.error(404, 'index_not_found_exception', `no such index [${index}]`);
    const merge = (
      into: Record<string, unknown>,
      from: Record<string, unknown>,
      at: string,
    ): string | undefined => {
      for (const [k, v] of Object.entries(from)) {
        const def = v as Record<string, unknown>;
        const cur = into[k] as Record<string, unknown> | undefined;
        if (!cur) {
          into[k] = structuredClone(def);
          continue;
        }
        if (def['type'] !== cur['type'])
          return `mapper [${at}${k}] cannot be changed from type [${typeName(cur)}] to [${typeName(def)}]`;
        if (def['properties']) cur['properties'] ??= {};
        if (def['properties']) {
          const err = merge(
            cur['properties'] as Record<string, unknown>,
            def['properties'] as Record<string, unknown>,
            `${at}${k}.`,
          );
          if (err) return err;
        }
      }
      return undefined;
    };
    const next = structuredClone(m);
    next['properties'] ??= {};
    const err = merge(next['properties'] as Record<string, unknown>, body.properties ?? {}, '');
    if (err) return FakeCluster.error(400, 'illegal_argument_exception', err);
    this.indexMappings.set(index, next);
    return ack;
  }

  /** Health is settable per stream so tests can show a yellow or red one. */
  readonly health = new Map<string, string>();
  /** Data stream generation (default 1): backing indices `.ds-<stream>-00000N`, documents in the last. */
  readonly generations = new Map<string, number>();
  /** ILM state per backing index (default: hot, waiting for rollover, created at 2026-11-27T00:00Z). */
  readonly ilm = new Map<
    string,
    { phase: string; step?: string; failedStep?: string; reason?: string; createdAt?: string }
  >();
  /** Endpoints that answer 403 (`ilm`, `stats`), as for an API key without the privilege. */
  readonly forbidden = new Set<string>();

  backingIndices(stream: string): string[] {
    const gen = this.generations.get(stream) ?? 1;
    return Array.from({ length: gen }, (_, i) => `.ds-${stream}-${String(i + 1).padStart(6, '0')}`);
  }

  private refused(what: string): Error | undefined {
    if (!this.forbidden.has(what)) return undefined;
    return new errors.ResponseError({
      body: {
        error: { type: 'security_exception', reason: `action [${what}] is unauthorized` },
        status: 403,
      },
      statusCode: 403,
      headers: {},
      warnings: null,
      meta: {} as never,
    });
  }

  private explain(expr: string): unknown {
    const no = this.refused('ilm');
    if (no) return no;
    const indices: Record<string, unknown> = {};
    for (const stream of this.matchingStreams(expr)) {
      const t = this.templateFor(stream);
      const policy = (t?.['template'] as { settings?: { index?: { lifecycle?: { name?: string } } } })
        ?.settings?.index?.lifecycle?.name;
      for (const index of this.backingIndices(stream)) {
        const st = this.ilm.get(index) ?? { phase: 'hot', step: 'check-rollover-ready' };
        indices[index] = {
          index,
          managed: policy !== undefined,
          ...(policy
            ? {
                policy,
                phase: st.phase,
                step: st.step ?? 'complete',
                index_creation_date_millis: Date.parse(st.createdAt ?? '2026-11-27T00:00:00Z'),
                ...(st.failedStep ? { failed_step: st.failedStep } : {}),
                ...(st.reason
                  ? { step_info: { type: 'illegal_argument_exception', reason: st.reason } }
                  : {}),
              }
            : {}),
        };
      }
    }
    return { indices };
  }

  private indexStats(expr: string): unknown {
    const no = this.refused('stats');
    if (no) return no;
    const indices: Record<string, unknown> = {};
    for (const stream of this.matchingStreams(expr)) {
      const backing = this.backingIndices(stream);
      backing.forEach((index, i) => {
        const count = i === backing.length - 1 ? (this.streams.get(stream)?.size ?? 0) : 0;
        indices[index] = {
          uuid: 'x',
          primaries: { docs: { count, deleted: 0 } },
          total: { docs: { count } },
        };
      });
    }
    return { _shards: { total: 1, successful: 1, failed: 0 }, _all: {}, indices };
  }

  private matchingStreams(expr: string): string[] {
    const pats = expr.split(',').map(globToRegex);
    return [...this.streams.keys()].filter((n) => pats.some((r) => r.test(n))).sort();
  }

  private dataStreams(expr: string): unknown {
    return {
      data_streams: this.matchingStreams(expr).map((name) => {
        const t = this.templateFor(name);
        const tname = [...this.indexTemplates].find(([, v]) => v === t)?.[0];
        const lifecycle = (t?.['template'] as { settings?: { index?: { lifecycle?: { name?: string } } } })
          ?.settings?.index?.lifecycle?.name;
        return {
          name,
          timestamp_field: { name: '@timestamp' },
          indices: this.backingIndices(name).map((index_name) => ({ index_name, index_uuid: 'x' })),
          generation: this.generations.get(name) ?? 1,
          status: (this.health.get(name) ?? 'green').toUpperCase(),
          template: tname,
          ...(lifecycle ? { ilm_policy: lifecycle } : {}),
          hidden: false,
          system: false,
        };
      }),
    };
  }

  private dataStreamStats(expr: string): unknown {
    const names = this.matchingStreams(expr);
    const size = (n: string) => JSON.stringify([...(this.streams.get(n)?.values() ?? [])]).length;
    return {
      _shards: { total: 1, successful: 1, failed: 0 },
      data_stream_count: names.length,
      backing_indices: names.length,
      total_store_size_bytes: names.reduce((a, n) => a + size(n), 0),
      data_streams: names.map((n) => ({
        data_stream: n,
        backing_indices: 1,
        store_size_bytes: size(n),
        maximum_timestamp: 0,
      })),
    };
  }

  private docsOf(indexExpr: string): Hit[] {
    const pats = indexExpr.split(',').map(globToRegex);
    const streams = [...this.streams]
      .filter(([name]) => pats.some((r) => r.test(name)))
      .flatMap(([stream, m]) => [...m].map(([id, doc]) => ({ id, doc, stream })));
    // Regular indices too (documents addressed by id, e.g. incidents), searched like Elasticsearch does.
    const indices = [...this.indices]
      .filter(([name]) => pats.some((r) => r.test(name)))
      .flatMap(([index, m]) =>
        this.modelRefresh
          ? [...(this.searchable.get(index) ?? [])].map(([id, doc]) => ({ id, doc, stream: index }))
          : [...m].map(([id, e]) => ({ id, doc: e.doc, stream: index })),
      );
    return [...streams, ...indices];
  }

  private count(indexExpr: string): unknown {
    return {
      count: this.docsOf(indexExpr).length,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
    };
  }

  private search(indexExpr: string, body: unknown): unknown {
    const b = (body ?? {}) as {
      query?: unknown;
      sort?: Array<Record<string, { order: string }>>;
      size?: number;
      from?: number;
      search_after?: unknown[];
      track_total_hits?: number | true;
      aggs?: Record<string, Record<string, Record<string, unknown>>>;
    };
    let hits = this.docsOf(indexExpr).filter((d) => this.matches(b.query ?? { match_all: {} }, d));
    const keys = (b.sort ?? []).map((s) => Object.keys(s)[0] as string);
    // Numbers (numeric and epoch-millis date fields) sort as numbers, and come back as numbers, as in
    // Elasticsearch; strings as before.
    const sortVal = (d: { id: string; doc: Doc }, k: string): string | number => {
      if (k === '_id') return d.id;
      const v = getField(d.doc, k) as string | number | undefined;
      return typeof v === 'number' ? v : String(v ?? '');
    };
    const cmp = (a: Array<string | number>, c: Array<string | number>): number => {
      for (let i = 0; i < a.length; i++) {
        const k = keys[i] as string;
        const rawX = a[i];
        const rawY = c[i];
        const x = String(rawX);
        const y = String(rawY);
        const r =
          typeof rawX === 'number' && typeof rawY === 'number'
            ? rawX - rawY
            : k === '@timestamp'
              ? Date.parse(x) - Date.parse(y) || x.localeCompare(y)
              : x < y
                ? -1
                : x > y
                  ? 1
                  : 0;
        if (r !== 0) return (b.sort?.[i]?.[k]?.order === 'desc' ? -1 : 1) * r;
      }
      return 0;
    };
    const withSort = hits.map((d) => ({ d, sv: keys.map((k) => sortVal(d, k)) }));
    withSort.sort((x, y) => cmp(x.sv, y.sv));
    const total = withSort.length;
    let from = withSort;
    if (b.search_after) {
      const after = b.search_after.map((v) => (typeof v === 'number' ? v : String(v)));
      from = withSort.filter((x) => cmp(x.sv, after) > 0);
    }
    // `from` skips that many hits (Elasticsearch refuses from + size beyond the 10 000 result window).
    const skip = b.from ?? 0;
    if (skip + (b.size ?? 10) > 10_000) throw new Error('fake cluster: from + size beyond the result window');
    hits = from.slice(skip, skip + (b.size ?? 10)).map((x) => x.d);
    const limit = b.track_total_hits === true ? Infinity : (b.track_total_hits ?? 10_000);
    const aggregations = b.aggs
      ? this.aggregate(
          b.aggs,
          withSort.map((x) => x.d),
        )
      : undefined;
    return {
      took: 1,
      timed_out: false,
      ...(aggregations ? { aggregations } : {}),
      hits: {
        total: total > limit ? { value: limit, relation: 'gte' } : { value: total, relation: 'eq' },
        hits: hits.map((d) => {
          const sv = keys.map((k) => sortVal(d, k));
          return { _index: 'fake', _id: d.id, _source: d.doc, ...(keys.length ? { sort: sv } : {}) };
        }),
      },
    };
  }

  /**
   * The aggregations the store emits: `date_histogram` with a `fixed_interval` in ms (epoch-aligned buckets,
   * `min_doc_count: 1`, oldest first) and `terms` (doc_count descending, then key ascending; every value of a
   * multi-valued field counts). Anything else fails loudly.
   */
  private aggregate(
    aggs: Record<string, Record<string, Record<string, unknown>>>,
    docs: Hit[],
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(aggs)) {
      const [kind, a] = Object.entries(spec).filter(([k]) => k !== 'aggs')[0] as [
        string,
        Record<string, unknown>,
      ];
      const sub = spec['aggs'] as Record<string, Record<string, Record<string, unknown>>> | undefined;
      if (sub && kind !== 'composite' && kind !== 'terms')
        throw new Error(`fake cluster: sub-aggregations under ${kind}`);
      const field = a['field'] as string;
      const counts = new Map<number | string, number>();
      if (kind === 'composite') {
        out[name] = this.composite(a, sub ?? {}, docs);
      } else if (kind === 'filter') {
        out[name] = { doc_count: docs.filter((d) => this.matches(a, d)).length };
      } else if (kind === 'max') {
        const nums = docs.flatMap((d) => this.values(d, field).map(Number));
        // Elasticsearch: max of nothing is null.
        out[name] = { value: nums.length ? Math.max(...nums) : null };
      } else if (kind === 'sum' || kind === 'avg') {
        const nums = docs.flatMap((d) => this.values(d, field).map(Number));
        const total = nums.reduce((x, y) => x + y, 0);
        // Elasticsearch: sum of nothing is 0, avg of nothing is null.
        out[name] = { value: kind === 'sum' ? total : nums.length ? total / nums.length : null };
      } else if (kind === 'max' || kind === 'min') {
        // Numbers only (dates as epoch ms), as in Elasticsearch; a keyword field is refused there too.
        const type = this.fieldType(field, docs[0]?.stream);
        if (type === 'keyword' || type === 'text')
          throw new Error(`fake cluster: ${kind} on ${type} ${field}`);
        const nums = docs.flatMap((d) => this.values(d, field).map(Number));
        out[name] = {
          value: nums.length ? (kind === 'max' ? Math.max(...nums) : Math.min(...nums)) : null,
        };
      } else if (kind === 'date_histogram') {
        const m = /^(\d+)ms$/.exec(String(a['fixed_interval']));
        if (!m || a['min_doc_count'] !== 1)
          throw new Error(`fake cluster: unsupported ${JSON.stringify(spec)}`);
        const width = Number(m[1]);
        for (const d of docs)
          for (const v of this.values(d, field)) {
            const ms = Date.parse(String(v));
            const key = Math.floor(ms / width) * width;
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
        out[name] = {
          buckets: [...counts]
            .sort((x, y) => (x[0] as number) - (y[0] as number))
            .map(([key, n]) => ({ key, key_as_string: new Date(key as number).toISOString(), doc_count: n })),
        };
      } else if (kind === 'terms') {
        // The default order (count descending, then key ascending by bytes, as Elasticsearch breaks ties),
        // implied or spelled out, or `order: {_key: 'asc' | 'desc'}`.
        const order = a['order'];
        const byKey = (order as Record<string, string> | undefined)?.['_key'];
        const isDefault =
          order === undefined ||
          JSON.stringify(order) === JSON.stringify([{ _count: 'desc' }, { _key: 'asc' }]);
        if (!isDefault && byKey !== 'asc' && byKey !== 'desc')
          throw new Error(`fake cluster: terms order ${JSON.stringify(order)}`);
        const members = new Map<string, Hit[]>();
        for (const d of docs)
          for (const v of new Set(this.values(d, field).map(String))) {
            counts.set(v, (counts.get(v) ?? 0) + 1);
            if (sub) members.set(v, [...(members.get(v) ?? []), d]);
          }
        out[name] = {
          buckets: [...counts]
            .sort((x, y) =>
              isDefault
                ? y[1] - x[1] || byBytes(String(x[0]), String(y[0]))
                : byKey === 'asc'
                  ? byBytes(String(x[0]), String(y[0]))
                  : byBytes(String(y[0]), String(x[0])),
            )
            .slice(0, Number(a['size'] ?? 10))
            .map(([key, n]) => ({
              key,
              doc_count: n,
              ...(sub ? this.aggregate(sub, members.get(String(key)) ?? []) : {}),
            })),
        };
      } else throw new Error(`fake cluster: unsupported aggregation ${kind}`);
    }
    return out;
  }

  /**
   * `composite` with `terms` sources (`missing_bucket` puts documents without the field in a null-key
   * bucket, first in ascending order), `size` and `after` paging, and sub-aggregations per bucket.
   */
  private composite(
    a: Record<string, unknown>,
    sub: Record<string, Record<string, Record<string, unknown>>>,
    docs: Hit[],
  ): unknown {
    const sources = (a['sources'] as Array<Record<string, Record<string, Record<string, unknown>>>>).map(
      (src) => {
        const [name, spec] = Object.entries(src)[0] as [string, Record<string, Record<string, unknown>>];
        const [kind, t] = Object.entries(spec)[0] as [string, Record<string, unknown>];
        if (kind !== 'terms') throw new Error(`fake cluster: composite source ${kind}`);
        return { name, field: t['field'] as string, missing: t['missing_bucket'] === true };
      },
    );
    const groups = new Map<string, { key: Array<string | number | boolean | null>; docs: Hit[] }>();
    for (const d of docs) {
      let keys: Array<Array<string | number | boolean | null>> = [[]];
      for (const src of sources) {
        // A document's values of a field are a set (Elasticsearch's doc values): a repeated one counts once.
        const vals = [...new Set(this.values(d, src.field) as Array<string | number | boolean>)];
        const options = vals.length > 0 ? vals : src.missing ? [null] : [];
        keys = keys.flatMap((k) => options.map((v) => [...k, v]));
      }
      for (const k of keys) {
        const id = JSON.stringify(k);
        const g = groups.get(id) ?? { key: k, docs: [] };
        g.docs.push(d);
        groups.set(id, g);
      }
    }
    const cmpKey = (
      x: Array<string | number | boolean | null>,
      y: Array<string | number | boolean | null>,
    ): number => {
      for (let i = 0; i < x.length; i++) {
        const [p, q] = [x[i], y[i]];
        if (p === q) continue;
        if (p === null) return -1;
        if (q === null) return 1;
        const r = typeof p === 'number' && typeof q === 'number' ? p - q : String(p) < String(q) ? -1 : 1;
        if (r !== 0) return r;
      }
      return 0;
    };
    let sorted = [...groups.values()].sort((x, y) => cmpKey(x.key, y.key));
    const after = a['after'] as Record<string, unknown> | undefined;
    if (after) {
      const ak = sources.map((src) => (after[src.name] ?? null) as string | number | boolean | null);
      sorted = sorted.filter((g) => cmpKey(g.key, ak) > 0);
    }
    const page = sorted.slice(0, Number(a['size'] ?? 10));
    const keyObj = (k: Array<unknown>) => Object.fromEntries(sources.map((src, i) => [src.name, k[i]]));
    const last = page[page.length - 1];
    return {
      ...(last ? { after_key: keyObj(last.key) } : {}),
      buckets: page.map((g) => ({
        key: keyObj(g.key),
        doc_count: g.docs.length,
        ...this.aggregate(sub, g.docs),
      })),
    };
  }

  /** The query DSL subset the store and the Sigma backend emit, with Elasticsearch's semantics. */
  matches(q: unknown, d: Hit): boolean {
    const [kind, arg] = Object.entries(q as Record<string, unknown>)[0] ?? [];
    const a = arg as Record<string, unknown>;
    switch (kind) {
      case 'match_all':
        return true;
      case 'match_none':
        return false;
      case 'ids':
        return (a['values'] as string[]).includes(d.id);
      case 'bool': {
        const list = (k: string): unknown[] =>
          a[k] === undefined ? [] : Array.isArray(a[k]) ? (a[k] as unknown[]) : [a[k]];
        const must = [...list('must'), ...list('filter')];
        const should = list('should');
        if (!must.every((x) => this.matches(x, d))) return false;
        if (list('must_not').some((x) => this.matches(x, d))) return false;
        const msm = a['minimum_should_match'] ?? (must.length === 0 ? 1 : 0);
        if (should.length > 0 && Number(msm) > 0)
          return should.filter((x) => this.matches(x, d)).length >= Number(msm);
        return true;
      }
      case 'exists':
        return this.values(d, a['field'] as string).length > 0;
      case 'range': {
        const [field, r] = Object.entries(a)[0] as [string, Record<string, unknown>];
        const type = this.fieldType(field, d.stream);
        // Dates accept epoch milliseconds as numbers (format epoch_millis) as well as date strings.
        const conv = (v: unknown): number =>
          (type === 'date' || type === 'date_nanos') && !/^-?\d+$/.test(String(v))
            ? Date.parse(String(v))
            : Number(v);
        return this.values(d, field).some((v) => {
          const x = conv(v);
          if (Number.isNaN(x)) return false;
          if (r['gte'] !== undefined && !(x >= conv(r['gte']))) return false;
          if (r['gt'] !== undefined && !(x > conv(r['gt']))) return false;
          if (r['lte'] !== undefined && !(x <= conv(r['lte']))) return false;
          if (r['lt'] !== undefined && !(x < conv(r['lt']))) return false;
          return true;
        });
      }
      case 'term':
      case 'terms':
      case 'wildcard':
      case 'prefix':
      case 'regexp': {
        const [field, spec] = Object.entries(a).filter(([k]) => k !== 'boost')[0] as [string, unknown];
        const obj =
          spec !== null && typeof spec === 'object' && !Array.isArray(spec)
            ? (spec as Record<string, unknown>)
            : { value: spec };
        const ci = obj['case_insensitive'] === true;
        const type = this.fieldType(field, d.stream);
        if (
          kind !== 'term' &&
          kind !== 'terms' &&
          type !== 'keyword' &&
          type !== 'wildcard' &&
          type !== undefined
        )
          throw new Error(`fake cluster: ${kind} on ${type} field ${field}`);
        const wanted = kind === 'terms' ? (spec as unknown[]) : [obj['value']];
        const test = (v: unknown, w: unknown): boolean => {
          const sv = String(v);
          const sw = String(w);
          if (kind === 'term' || kind === 'terms') {
            if (type === 'ip') return ipMatches(sv, sw);
            if (type === 'long' || type === 'integer') return Number(sv) === Number(sw);
            if (type === 'text' || type === 'match_only_text')
              throw new Error(`fake cluster: term on text field ${field}`);
            return ci ? sv.toLowerCase() === sw.toLowerCase() : sv === sw;
          }
          if (kind === 'prefix')
            return ci ? sv.toLowerCase().startsWith(sw.toLowerCase()) : sv.startsWith(sw);
          if (kind === 'wildcard') return wildcardToRegex(sw, ci).test(sv);
          return luceneRegex(
            sw,
            ci || String((obj['flags'] as string | undefined) ?? '').includes('CASE_INSENSITIVE'),
          ).test(sv);
        };
        return this.values(d, field).some((v) => wanted.some((w) => test(v, w)));
      }
      case 'simple_query_string': {
        const words = analyze(String(a['query']));
        const fields = (a['fields'] as string[]) ?? ['message'];
        const texts = fields.flatMap((f) => this.values(d, f)).map((v) => new Set(analyze(String(v))));
        return words.length > 0 && words.every((w) => texts.some((t) => t.has(w)));
      }
      case undefined:
      default:
        throw new Error(`fake cluster: unsupported query ${JSON.stringify(q)}`);
    }
  }

  /** Leaf values at a path; sub-fields (`message.wildcard`, `user.name.text`) read their parent. */
  private values(d: Hit, field: string): unknown[] {
    if (d.stream !== undefined && !this.indexed(field, d.stream)) return [];
    const doc = d.doc;
    let v = getField(doc, field);
    // Arrays of objects flatten as in Elasticsearch: `outbox.key` holds every element's key.
    if (v === undefined) v = flatValues(doc, field.split('.'));
    if (v === undefined) {
      const m = /^(.*)\.(wildcard|text|keyword)$/.exec(field);
      if (m) v = getField(doc, m[1] as string);
    }
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    return list.filter((x) => x !== null && typeof x !== 'object');
  }
}

/** Keyword order in Elasticsearch: by UTF-8 bytes (code points), not by locale. */
function byBytes(x: string, y: string): number {
  const a = Buffer.from(x);
  const b = Buffer.from(y);
  return Buffer.compare(a, b);
}

function flatValues(v: unknown, parts: string[]): unknown[] | undefined {
  if (parts.length === 0) return v === undefined ? undefined : Array.isArray(v) ? v : [v];
  if (Array.isArray(v)) {
    const out = v.flatMap((x) => flatValues(x, parts) ?? []);
    return out.length > 0 ? out : undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  return flatValues((v as Record<string, unknown>)[parts[0] as string], parts.slice(1));
}

function typeName(def: Record<string, unknown>): string {
  return typeof def['type'] === 'string' ? def['type'] : 'object';
}

function last(path: string): string {
  return decodeURIComponent(path.split('/').pop() ?? '');
}

function globToRegex(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map(escapeRe).join('.*') + '$');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function wildcardToRegex(w: string, ci: boolean): RegExp {
  let out = '';
  for (let i = 0; i < w.length; i++) {
    const c = w[i] as string;
    if (c === '\\' && i + 1 < w.length) out += escapeRe(w[++i] as string);
    else if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else out += escapeRe(c);
  }
  return new RegExp('^' + out + '$', ci ? 'is' : 's');
}

/** Lucene regular expressions are anchored and, for the subset emitted, otherwise JavaScript syntax. */
function luceneRegex(src: string, ci: boolean): RegExp {
  return new RegExp('^(?:' + src + ')$', ci ? 'is' : 's');
}

/** citysoc_folding: standard tokenizer, lowercase, asciifolding (đ→d and diacritics removed). */
export function analyze(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((w) => w.length > 0);
}

function ipBytes(ip: string): number[] | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) {
    const b = ip.split('.').map(Number);
    return b.every((x) => x >= 0 && x <= 255) ? b : undefined;
  }
  if (!ip.includes(':')) return undefined;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 255];
  });
}

/** Term on an ip field accepts an address or a CIDR network, as in Elasticsearch. */
function ipMatches(value: string, wanted: string): boolean {
  const [net, bitsRaw] = wanted.split('/');
  const a = ipBytes(value);
  const b = ipBytes(net ?? '');
  if (!a || !b || a.length !== b.length) return false;
  const bits = bitsRaw === undefined ? a.length * 8 : Number(bitsRaw);
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if (((a[byte] as number) & mask) !== ((b[byte] as number) & mask)) return false;
  }
  return true;
}
