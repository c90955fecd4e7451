import { type Client } from '@elastic/elasticsearch';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import {
  type AlertQuery,
  type EventAggregateQuery,
  type EventAggregates,
  type EventQuery,
  type EventStore,
  type Page,
  type StorageInfo,
  type WriteResult,
} from '../ports';
import { BulkWriter, type BulkSettings, DEFAULT_BULK } from './bulk';
import {
  alertSearchBody,
  encodeSortCursor,
  eventAggregateBody,
  eventSearchBody,
  type SearchBody,
} from './query';
import {
  type DataClass,
  DEFAULT_LAYOUT,
  type LayoutSettings,
  componentTemplates,
  dataStreamName,
  ilmPolicies,
  indexTemplates,
  readTarget,
  validateLayout,
} from './templates';

export interface ElasticsearchStoreOptions {
  layout?: LayoutSettings;
  bulk?: Partial<BulkSettings>;
  /** Injected so retry tests assert the backoff schedule without waiting for it. */
  sleep?: (ms: number) => Promise<void>;
  isDrill?: (event: EcsEvent) => boolean;
}

/** Drill traffic is tagged `drill` (or labelled `drill=true`) by whoever injects it. */
export function isDrillEvent(e: EcsEvent): boolean {
  return (Array.isArray(e.tags) && e.tags.includes('drill')) || e.labels?.['drill'] === 'true';
}

/** Flow records carry `event.dataset: flow` (libs/flow); everything else the pipeline ingests is syslog. */
export function eventClass(e: EcsEvent): Exclude<DataClass, 'alerts'> {
  return e.event.dataset === 'flow' || e.event.module === 'netflow' ? 'flow' : 'syslog';
}

interface Hit<T> {
  _id: string;
  _source?: T;
  sort?: unknown[];
}

/**
 * The city-scale event store: one data stream per data class and namespace, ECS mappings, ILM retention.
 * Templates and policies are installed (idempotently, PUT replaces) before the first read or write.
 */
export class ElasticsearchEventStore implements EventStore {
  private readonly layout: LayoutSettings;
  private readonly writer: BulkWriter;
  private readonly isDrill: (e: EcsEvent) => boolean;
  private ready?: Promise<void>;
  private readonly eventsTarget: string;
  private readonly alertsTarget: string;

  constructor(
    private readonly client: Client,
    o: ElasticsearchStoreOptions = {},
  ) {
    this.layout = o.layout ?? DEFAULT_LAYOUT;
    validateLayout(this.layout);
    this.eventsTarget = readTarget(['syslog', 'flow'], this.layout.readNamespaces);
    this.alertsTarget = readTarget(['alerts'], this.layout.readNamespaces);
    this.isDrill = o.isDrill ?? isDrillEvent;
    this.writer = new BulkWriter(
      client,
      { ...DEFAULT_BULK, ...o.bulk },
      o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    );
  }

  get bulkStats(): Readonly<BulkWriter['stats']> {
    return this.writer.stats;
  }

  /** Installs ILM policies, component templates and index templates, in dependency order. */
  install(): Promise<void> {
    this.ready ??= this.doInstall().catch((err: unknown) => {
      this.ready = undefined; // let the next call try again
      throw err;
    });
    return this.ready;
  }

  private async doInstall(): Promise<void> {
    for (const [name, body] of Object.entries(ilmPolicies(this.layout.retention)))
      await this.client.ilm.putLifecycle({ name, ...body });
    for (const [name, body] of Object.entries(componentTemplates()))
      await this.client.cluster.putComponentTemplate({ name, ...body });
    for (const [name, body] of Object.entries(indexTemplates(this.layout)))
      await this.client.indices.putIndexTemplate({ name, ...body });
  }

  private namespaceOf(e: EcsEvent): string {
    return this.isDrill(e) ? this.layout.drillNamespace : this.layout.namespace;
  }

  async writeEvents(events: EcsEvent[]): Promise<WriteResult<EcsEvent>> {
    await this.install();
    const ingested = new Date().toISOString();
    return this.writer.write(
      events.map((e) => ({
        index: dataStreamName(eventClass(e), this.namespaceOf(e)),
        id: e.event.id,
        doc: { ...e, event: { ...e.event, ingested } },
        item: e,
      })),
    );
  }

  async insertEvents(events: EcsEvent[]): Promise<number> {
    const r = await this.writeEvents(events);
    if (r.rejected.length > 0) throw rejectedError(r.rejected);
    return r.inserted;
  }

  async writeAlerts(alerts: Alert[]): Promise<WriteResult<Alert>> {
    await this.install();
    return this.writer.write(
      alerts.map((a) => ({
        index: dataStreamName('alerts', this.namespaceOf(a.event)),
        id: a.id,
        doc: { ...a },
        item: a,
      })),
    );
  }

  async insertAlerts(alerts: Alert[]): Promise<number> {
    const r = await this.writeAlerts(alerts);
    if (r.rejected.length > 0) throw rejectedError(r.rejected);
    return r.inserted;
  }

  async searchEvents(q: EventQuery): Promise<Page<EcsEvent>> {
    return this.search<EcsEvent>(this.eventsTarget, eventSearchBody(q));
  }

  async listAlerts(q: AlertQuery): Promise<Page<Alert>> {
    return this.search<Alert>(this.alertsTarget, alertSearchBody(q));
  }

  async aggregateEvents(q: EventAggregateQuery): Promise<EventAggregates> {
    const body = eventAggregateBody(q);
    const top = [...new Set(q.top)];
    await this.install();
    const res = await this.client.search({
      index: this.eventsTarget,
      ...body,
      ignore_unavailable: true,
      allow_no_indices: true,
    } as Parameters<Client['search']>[0]);
    type Buckets = { buckets?: Array<{ key: number | string; key_as_string?: string; doc_count: number }> };
    const aggs = (res.aggregations ?? {}) as Record<string, Buckets>;
    const total = res.hits.total;
    const out: EventAggregates['top'] = {};
    top.forEach((field, i) => {
      out[field] = (aggs[`top_${i}`]?.buckets ?? []).map((b) => ({
        value: b.key_as_string ?? String(b.key),
        count: b.doc_count,
      }));
    });
    return {
      total: typeof total === 'number' ? total : (total?.value ?? 0),
      intervalMs: q.intervalMs,
      histogram: (aggs.histogram?.buckets ?? []).map((b) => ({
        start: new Date(Number(b.key)).toISOString(),
        count: b.doc_count,
      })),
      top: out,
    };
  }

  /** Raw query DSL over the events (retro-hunts); paging and bounds as searchEvents. */
  async searchEventsDsl(
    query: unknown,
    range: { from?: string; to?: string; scope?: string },
    limit: number,
    after?: string,
  ) {
    const base = eventSearchBody({
      ...(range.from ? { from: range.from } : {}),
      ...(range.to ? { to: range.to } : {}),
      ...(range.scope !== undefined ? { scope: range.scope } : {}),
      limit,
      ...(after ? { after } : {}),
    });
    return this.search<EcsEvent>(this.eventsTarget, {
      ...base,
      query: { bool: { filter: [...base.query.bool.filter, query] } },
    });
  }

  private async search<T>(index: string, body: SearchBody): Promise<Page<T>> {
    await this.install();
    const res = await this.client.search<T>({
      index,
      ...body,
      ignore_unavailable: true,
      allow_no_indices: true,
    } as Parameters<Client['search']>[0]);
    const hits = res.hits.hits as Array<Hit<T>>;
    const limit = body.size - 1;
    const items = hits.slice(0, limit);
    const last = items[items.length - 1];
    const next = hits.length > limit && last ? encodeSortCursor(last.sort) : undefined;
    const total = res.hits.total;
    return {
      items: items.map((h) => h._source as T),
      ...(next ? { next } : {}),
      ...(typeof total === 'object' && total.relation === 'eq' ? { total: total.value } : {}),
    };
  }

  async getAlert(id: string): Promise<Alert | undefined> {
    await this.install();
    const res = await this.client.search<Alert>({
      index: this.alertsTarget,
      query: { ids: { values: [id] } },
      size: 1,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    return res.hits.hits[0]?._source;
  }

  async getAlerts(ids: string[]): Promise<Alert[]> {
    return this.getByIds<Alert>(this.alertsTarget, ids, (a) => a.id);
  }

  async getEvents(ids: string[]): Promise<EcsEvent[]> {
    return this.getByIds<EcsEvent>(this.eventsTarget, ids, (e) => e.event.id);
  }

  /** Data streams take no multi-get by _id: one `ids` search, then the caller's order (missing ids left out). */
  private async getByIds<T>(index: string, ids: string[], idOf: (doc: T) => string): Promise<T[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    await this.install();
    const res = await this.client.search<T>({
      index,
      query: { ids: { values: unique } },
      size: unique.length,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    const byId = new Map<string, T>();
    for (const h of res.hits.hits) if (h._source) byId.set(idOf(h._source), h._source);
    return ids.flatMap((id) => {
      const doc = byId.get(id);
      return doc ? [doc] : [];
    });
  }

  async countEvents(): Promise<number> {
    return this.count(this.eventsTarget);
  }

  async countAlerts(): Promise<number> {
    return this.count(this.alertsTarget);
  }

  private async count(index: string): Promise<number> {
    await this.install();
    const res = await this.client.count({ index, ignore_unavailable: true, allow_no_indices: true });
    return res.count;
  }

  /**
   * Data streams of every namespace with their health, backing indices, documents, lifecycle (phase per
   * backing index, the last rollover, ILM errors) and size. The lifecycle and document counts come from two
   * more requests (`_ilm/explain`, `_stats/docs`); when one of them is refused (privileges) the view still
   * answers, with the reason in `errors`.
   */
  async storageInfo(): Promise<StorageInfo> {
    await this.install();
    const name = 'logs-citysoc.*';
    const errors: string[] = [];
    const optional = <T>(what: string, p: Promise<T>): Promise<T | undefined> =>
      p.catch((e: unknown) => {
        errors.push(`${what} unavailable: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      });
    const [ds, stats, events, alerts, explain, docStats] = await Promise.all([
      this.client.indices.getDataStream({ name }),
      this.client.indices.dataStreamsStats({ name }),
      this.countEvents(),
      this.countAlerts(),
      optional('ILM explain', this.client.ilm.explainLifecycle({ index: name })),
      optional('document counts', this.client.indices.stats({ index: name, metric: 'docs' })),
    ]);
    const bytesOf = new Map(stats.data_streams.map((s) => [s.data_stream, s.store_size_bytes]));
    const ilm = (explain?.indices ?? {}) as Record<string, IlmExplain>;
    const docsOf = (index: string): number | undefined =>
      docStats?.indices?.[index]?.primaries?.docs?.count ?? undefined;
    const rank = ['green', 'yellow', 'red'] as const;
    let worst = 0;
    const dataStreams = ds.data_streams.map((d) => {
      const status = String(d.status).toLowerCase();
      const r = rank.indexOf(status as (typeof rank)[number]);
      worst = Math.max(worst, r < 0 ? 2 : r); // an unknown status is not a healthy one
      if (r !== 0) errors.push(`data stream ${d.name} is ${status}`);
      const bytes = bytesOf.get(d.name);
      const backing = d.indices.map((i) => i.index_name);
      const write = backing[backing.length - 1];
      const phases: Record<string, number> = {};
      const ilmErrors: Array<{ index: string; failedStep?: string; reason: string }> = [];
      let docs: number | undefined = docStats ? 0 : undefined;
      for (const index of backing) {
        const e = ilm[index];
        if (e?.managed && e.phase) phases[e.phase] = (phases[e.phase] ?? 0) + 1;
        if (e?.step === 'ERROR') {
          const reason = e.step_info?.reason ?? e.step_info?.type ?? 'unknown error';
          ilmErrors.push({ index, ...(e.failed_step ? { failedStep: e.failed_step } : {}), reason });
          errors.push(`ILM error on ${index}${e.failed_step ? ` at ${e.failed_step}` : ''}: ${reason}`);
        }
        if (docs !== undefined) docs += docsOf(index) ?? 0;
      }
      const we = write ? ilm[write] : undefined;
      const created = we?.index_creation_date_millis;
      return {
        name: d.name,
        status,
        backingIndices: d.indices.length,
        template: d.template,
        ...(d.ilm_policy ? { ilmPolicy: d.ilm_policy } : {}),
        ...(bytes !== undefined ? { bytes } : {}),
        ...(docs !== undefined ? { docs } : {}),
        ...(write ? { writeIndex: write } : {}),
        // Generation 1 is the stream's first index: created, never rolled over.
        ...(d.generation > 1 && created !== undefined
          ? { lastRolloverAt: new Date(Number(created)).toISOString() }
          : {}),
        ...(we?.phase ? { ilmPhase: we.phase } : {}),
        ...(explain ? { phases } : {}),
        ...(ilmErrors.length > 0 ? { ilmErrors } : {}),
      };
    });
    const writes = { ...this.writer.stats };
    if (writes.lastFailure)
      errors.push(`last write failure at ${writes.lastFailure.at}: ${writes.lastFailure.message}`);
    return {
      engine: 'elasticsearch',
      status: rank[worst] ?? 'red',
      events,
      alerts,
      bytes: stats.total_store_size_bytes,
      dataStreams,
      writes,
      errors,
    };
  }

  async ping(): Promise<void> {
    const ok = await this.client.ping();
    if (!ok) throw new Error('Elasticsearch did not answer ping');
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function rejectedError(rejected: WriteResult<unknown>['rejected']): Error {
  const first = rejected[0];
  return new Error(
    `Elasticsearch rejected ${rejected.length} documents (first: ${first?.id} ${first?.status} ${first?.reason}); use writeEvents/writeAlerts to dead-letter them`,
  );
}

/** The part of an ILM explain answer per index that the storage view reads. */
interface IlmExplain {
  managed?: boolean;
  phase?: string;
  step?: string;
  failed_step?: string;
  step_info?: { type?: string; reason?: string };
  index_creation_date_millis?: number | string;
}
