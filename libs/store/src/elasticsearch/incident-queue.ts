import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import {
  CLOSED_STATUSES,
  filterTime,
  foldVi,
  type IncidentActivity,
  type IncidentChange,
  OPEN_STATUSES,
  type QueueContext,
  type QueueFilter,
  type QueueGroup,
  type QueuePageResult,
  RANK_SEVERITY,
  startOfDayHcm,
} from '../incident-queue-port';
import { type UnitScope } from '../incident-port';
import { type Incident } from '../ports';
import { type IncidentLifecycleDoc } from './incident-docs';

// IncidentQueueViews as query DSL on the incident documents (ElasticsearchIncidentStore delegates here), with
// SQLite's semantics (sqlite/incident-queue.ts); the queue contract suite holds both to the same answers.

/** QUEUE ORDER on the derived queue fields (queue-fields.ts), id last so every position is unique. */
const QUEUE_SORT: estypes.Sort = [
  { 'derived.queue.due': { order: 'asc' } },
  { 'derived.queue.severity_rank': { order: 'desc' } },
  { 'derived.queue.priority': { order: 'desc' } },
  { created_at: { order: 'desc' } },
  { id: { order: 'desc' } },
];

/** Group key fields: as SQLite's GROUP BY (COALESCE(unit_path, ''), entity, each rule id, each tactic). */
const GROUP_FIELD: Record<QueueGroup, string> = {
  unit: 'derived.queue.unit_key',
  entity: 'group.entity',
  rule: 'group.rule_ids',
  tactic: 'derived.queue.tactics',
};

/** Elasticsearch's default index.max_result_window: beyond it, pages are walked with search_after. */
const WINDOW = 10_000;
const WALK_PAGE = 1000;

type Query = estypes.QueryDslQueryContainer;

/** The unit scope as a filter: the unit itself or anything below it; undefined = city-wide (no filter). */
function scopeFilter(scope: UnitScope): Query[] {
  if (scope === undefined) return [];
  return [
    {
      bool: {
        should: [{ term: { unit_path: scope } }, { prefix: { unit_path: `${scope}/` } }],
        minimum_should_match: 1,
      },
    },
  ];
}

/** The queue filter as a bool filter: sqlite/incident-queue.ts queueWhere, clause for clause. */
export function queueQuery(f: QueueFilter, ctx: QueueContext): Query {
  const filter: Query[] = [...scopeFilter(ctx.scope)];
  const open: Query = { terms: { status: [...OPEN_STATUSES] } };
  switch (f.view) {
    case 'unclaimed':
      filter.push({ term: { status: 'new' } });
      break;
    case 'mine':
      filter.push(open, { term: { assignee: ctx.me } });
      break;
    case 'breaching':
      // Open incidents carry NO_DUE when they have no deadline, which no realistic time reaches.
      filter.push(open, { range: { 'derived.queue.due': { lt: ctx.now + ctx.breachingWithinMs } } });
      break;
    case 'open':
      filter.push(open);
      break;
    case 'closed_today':
      filter.push(
        { terms: { status: [...CLOSED_STATUSES] } },
        { range: { closed_at: { gte: startOfDayHcm(ctx.now) } } },
      );
      break;
    case 'all':
      break;
  }
  if (f.severity) filter.push({ term: { 'group.severity': f.severity } });
  if (f.unit) filter.push(...scopeFilter(f.unit));
  if (f.rule) filter.push({ term: { 'group.rule_ids': f.rule } });
  if (f.tactic) filter.push({ term: { 'derived.queue.tactics': f.tactic } });
  if (f.entity) filter.push({ term: { 'group.entity': f.entity } });
  if (f.q) {
    // SQLite: citysoc_fold(field) LIKE '%folded words%' on each field, or the exact id.
    const value = `*${foldVi(f.q).replace(/[\\*?]/g, (c) => `\\${c}`)}*`;
    filter.push({
      bool: {
        should: [{ wildcard: { 'derived.queue.search': { value } } }, { term: { id: f.q } }],
        minimum_should_match: 1,
      },
    });
  }
  const from = filterTime(f.from);
  const to = filterTime(f.to);
  if (from !== undefined) filter.push({ range: { 'group.last_seen': { gte: from } } });
  if (to !== undefined) filter.push({ range: { 'group.first_seen': { lt: to } } });
  return { bool: { filter } };
}

export class ElasticsearchIncidentQueue {
  constructor(
    private readonly client: Client,
    private readonly index: () => string,
    private readonly toIncident: (d: IncidentLifecycleDoc) => Incident,
    /** The cluster's index.max_result_window (smaller in tests, to walk with few documents). */
    private readonly window = WINDOW,
  ) {}

  async queuePage(
    f: QueueFilter,
    ctx: QueueContext,
    p: { page: number; size: number; group?: QueueGroup },
  ): Promise<QueuePageResult> {
    const query = queueQuery(f, ctx);
    const skip = (p.page - 1) * p.size;
    const [total, docs] = await Promise.all([
      this.count(query),
      this.collect(query, QUEUE_SORT, skip, p.size),
    ]);
    const items = docs.map(this.toIncident);
    if (!p.group) return { items, total };
    return { items, total, groups: await this.groups(query, p.group) };
  }

  async queueCount(f: QueueFilter, ctx: QueueContext): Promise<number> {
    return this.count(queueQuery(f, ctx));
  }

  async queueIds(f: QueueFilter, ctx: QueueContext, limit: number): Promise<string[]> {
    return (await this.collect(queueQuery(f, ctx), QUEUE_SORT, 0, limit)).map((d) => d.id);
  }

  async changedSince(q: {
    since: number;
    inclusive: boolean;
    scope?: UnitScope;
    limit: number;
  }): Promise<IncidentChange[]> {
    const query: Query = {
      bool: {
        filter: [
          { range: { updated_at: q.inclusive ? { gte: q.since } : { gt: q.since } } },
          ...scopeFilter(q.scope),
        ],
      },
    };
    const docs = await this.collect(
      query,
      [{ updated_at: { order: 'asc' } }, { id: { order: 'asc' } }],
      0,
      q.limit,
    );
    return docs.map((d) => ({
      id: d.id,
      status: d.status,
      severity: d.group?.severity ?? 'low',
      updated_at: d.updated_at,
    }));
  }

  async activeIn(period: { start: number; end: number }): Promise<IncidentActivity[]> {
    const within = { gte: period.start, lt: period.end };
    const query: Query = {
      bool: {
        should: [{ range: { created_at: within } }, { range: { updated_at: within } }],
        minimum_should_match: 1,
      },
    };
    const docs = await this.collect(
      query,
      [{ created_at: { order: 'asc' } }, { id: { order: 'asc' } }],
      0,
      Infinity,
    );
    return docs.map((d) => ({
      id: d.id,
      severity: d.group?.severity ?? 'low',
      status: d.status,
      created_at: d.created_at,
      updated_at: d.updated_at,
      tags: d.tags,
    }));
  }

  private async count(query: Query): Promise<number> {
    const res = await this.searchOr404({ query, size: 0, track_total_hits: true });
    const t = res?.hits.total;
    return typeof t === 'number' ? t : (t?.value ?? 0);
  }

  /**
   * `take` documents after the first `skip` in `sort` order: one request inside the result window, else
   * walked with search_after (the sort ends with `id`, so every position is unique).
   */
  private async collect(
    query: Query,
    sort: estypes.Sort,
    skip: number,
    take: number,
  ): Promise<IncidentLifecycleDoc[]> {
    if (take <= 0) return [];
    if (skip + take <= this.window) {
      const res = await this.searchOr404({ query, sort, from: skip, size: take });
      return (res?.hits.hits ?? []).flatMap((h) => (h._source ? [h._source] : []));
    }
    const out: IncidentLifecycleDoc[] = [];
    let after: estypes.SortResults | undefined;
    let seen = 0;
    const chunk = Math.min(WALK_PAGE, this.window);
    while (out.length < take) {
      const res = await this.searchOr404({
        query,
        sort,
        size: chunk,
        ...(after ? { search_after: after } : {}),
      });
      const hits = res?.hits.hits ?? [];
      for (const h of hits) {
        if (seen++ >= skip && out.length < take && h._source) out.push(h._source);
      }
      if (hits.length < chunk) break;
      after = hits[hits.length - 1]!.sort;
    }
    return out;
  }

  /** Counts per key with the highest severity, largest first then key ascending, at most 200 (as SQLite). */
  private async groups(query: Query, group: QueueGroup): Promise<QueuePageResult['groups']> {
    const res = await this.searchOr404({
      query,
      size: 0,
      aggs: {
        groups: {
          terms: {
            field: GROUP_FIELD[group],
            size: 200,
            order: [{ _count: 'desc' }, { _key: 'asc' }],
          },
          aggs: { max_rank: { max: { field: 'derived.queue.severity_rank' } } },
        },
      },
    });
    const agg = res?.aggregations?.['groups'] as
      | { buckets: Array<{ key: string | number; doc_count: number; max_rank: { value: number | null } }> }
      | undefined;
    return (agg?.buckets ?? []).map((b) => ({
      key: String(b.key),
      count: b.doc_count,
      max_severity: RANK_SEVERITY[b.max_rank.value ?? 1] ?? 'informational',
    }));
  }

  private async searchOr404(
    body: Omit<estypes.SearchRequest, 'index'>,
  ): Promise<estypes.SearchResponse<IncidentLifecycleDoc> | undefined> {
    try {
      return await this.client.search<IncidentLifecycleDoc>({ index: this.index(), ...body });
    } catch (e) {
      // No incident yet: the index is created by the first write.
      if (e instanceof errors.ResponseError && e.statusCode === 404) return undefined;
      throw e;
    }
  }
}
