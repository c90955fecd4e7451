import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import { type Severity } from '@citysoc/ecs';
import { type IncidentStatus, type SlaKind } from '@citysoc/incidents';
import {
  type CountRow,
  type IncidentAggregates,
  type IncidentDashboard,
  type IncidentMitreCounts,
  type RuleIncidentStats,
  type SlaBreachCount,
  type UnitIncidentRow,
  type VolumeRow,
} from '../incident-aggregates-port';
import { type UnitScope } from '../incident-port';

type Query = estypes.QueryDslQueryContainer;
type Aggs = Record<string, estypes.AggregationsAggregationContainer>;
interface Bucket {
  key: Record<string, string | number | boolean | null>;
  doc_count: number;
  [sub: string]: unknown;
}

const PAGE = 500;
const OPEN: IncidentStatus[] = ['new', 'acknowledged', 'in_progress'];
const CLOSED: IncidentStatus[] = ['resolved', 'false_positive', 'duplicate'];
/** Pure drill incidents (libs/drills isDrill, computed into `derived.drill` on every write) out. */
const REAL: Query = { bool: { must_not: [{ term: { 'derived.drill': true } }] } };
const DRILL: Query = { term: { 'derived.drill': true } };
/** At least one recorded SLA breach (SQLite: json_array_length(sla, '$.breaches') > 0). */
const BREACHED: Query = {
  bool: {
    should: [
      { range: { 'derived.ack_breaches': { gt: 0 } } },
      { range: { 'derived.resolve_breaches': { gt: 0 } } },
    ],
    minimum_should_match: 1,
  },
};
/** The greatest keyword of a bucket (SQL MAX on text): `max` only takes numbers, so a one-bucket terms. */
const greatest = (field: string): estypes.AggregationsAggregationContainer => ({
  terms: { field, size: 1, order: { _key: 'desc' } },
});

/**
 * IncidentAggregates on the incident documents of ElasticsearchIncidentDocs: the SQL of
 * sqlite/incident-aggregates.ts as searches with `size: 0`. Every grouping is a composite aggregation paged
 * to the end (exact counts, unlike a terms aggregation's top-N), sorted and cut in code the way the SQL
 * orders and limits. The unit scope is a filter; real/drill is `derived.drill`. Searches see what the last
 * refresh made visible, as the incident lists do.
 */
export class ElasticsearchIncidentAggregates implements IncidentAggregates {
  constructor(
    private readonly client: Client,
    private readonly index: string,
    /** Buckets per composite page (tests page with a small one). */
    private readonly pageSize = PAGE,
  ) {}

  async incidentDashboard(q: {
    scope: UnitScope;
    since: number;
    dueBefore: number;
  }): Promise<IncidentDashboard> {
    const scope = scopeFilter(q.scope);
    const byStatus = (await this.composite(scope, [terms('key', 'status')])).map((b) => ({
      key: b.key['key'] as IncidentStatus,
      count: b.doc_count,
    }));
    const recent = [...scope, REAL, { range: { 'group.last_seen': { gte: q.since } } }];
    const volume = async (field: string, missing = false): Promise<VolumeRow[]> =>
      top(
        merge(
          (
            await this.composite(recent, [terms('key', field, missing)], {
              alerts: { sum: { field: 'group.alert_count' } },
            })
          ).map((b) => ({
            key: (b.key['key'] as string | null) ?? '',
            incidents: b.doc_count,
            alerts: value(b, 'alerts') ?? 0,
          })),
        ),
        20,
      );
    const created = await this.search([...scope, REAL, { range: { created_at: { gte: q.since } } }], {
      breached: { filter: BREACHED },
    });
    const due = (field: string): Query => ({ range: { [field]: { lt: q.dueBefore } } });
    const soon = await this.search([
      ...scope,
      {
        bool: {
          should: [
            { bool: { filter: [{ term: { status: 'new' } }, due('sla.acknowledge_due')] } },
            {
              bool: {
                filter: [{ term: { status: 'new' } }, due('sla.resolve_due')],
                must_not: [{ exists: { field: 'sla.acknowledge_due' } }],
              },
            },
            {
              bool: {
                filter: [{ terms: { status: ['acknowledged', 'in_progress'] } }, due('sla.resolve_due')],
              },
            },
          ],
          minimum_should_match: 1,
        },
      },
    ]);
    return {
      by_status: byStatus,
      breaching_soon: soon.total,
      sla: { incidents: created.total, breached: count(created.aggs, 'breached') },
      by_severity: await volume('group.severity'),
      by_unit: await volume('unit_path', true),
      by_rule: await volume('group.rule_ids'),
    };
  }

  async incidentUnits(scope: UnitScope): Promise<UnitIncidentRow[]> {
    const rows = (
      await this.composite(scopeFilter(scope), [terms('path', 'unit_path', true)], {
        name: greatest('group.unit.name'),
        open: { filter: { terms: { status: OPEN } } },
        breached: { filter: BREACHED },
      })
    ).map((b) => ({
      path: (b.key['path'] as string | null) ?? '',
      name: first(b, 'name'),
      incidents: b.doc_count,
      open: count(b, 'open'),
      breached: count(b, 'breached'),
    }));
    // SQLite groups COALESCE(unit_path, ''): no unit and an empty path are one row.
    const byPath = new Map<string, UnitIncidentRow>();
    for (const r of rows) {
      const o = byPath.get(r.path);
      byPath.set(
        r.path,
        o
          ? {
              path: r.path,
              name: maxOf(o.name, r.name),
              incidents: o.incidents + r.incidents,
              open: o.open + r.open,
              breached: o.breached + r.breached,
            }
          : r,
      );
    }
    return [...byPath.values()].sort((a, b) => cmp(a.path, b.path));
  }

  async incidentRuleStats(scope: UnitScope, limit?: number): Promise<RuleIncidentStats[]> {
    const rows = (
      await this.composite([...scopeFilter(scope), REAL], [terms('rule', 'group.rule_ids')], {
        alerts: { sum: { field: 'group.alert_count' } },
        false_positive: { filter: { term: { status: 'false_positive' } } },
        closed: { filter: { terms: { status: CLOSED } } },
        last_seen: { max: { field: 'group.last_seen' } },
        title: greatest('group.title'),
      })
    ).map((b) => ({
      rule_id: b.key['rule'] as string,
      incidents: b.doc_count,
      alerts: value(b, 'alerts') ?? 0,
      false_positive: count(b, 'false_positive'),
      closed: count(b, 'closed'),
      last_seen: value(b, 'last_seen'),
      title: first(b, 'title'),
    }));
    rows.sort((a, b) => b.alerts - a.alerts || cmp(a.rule_id, b.rule_id));
    return limit === undefined ? rows : rows.slice(0, limit);
  }

  async incidentMitre(scope: UnitScope): Promise<IncidentMitreCounts> {
    const filter = scopeFilter(scope);
    const per = async (field: string): Promise<CountRow[]> =>
      (await this.composite(filter, [terms('key', field)]))
        .map((b) => ({ key: b.key['key'] as string, incidents: b.doc_count }))
        .sort((a, b) => cmp(a.key, b.key));
    // Two multi-valued sources: a composite bucket for every (tactic, technique) of each document.
    const pairs = (
      await this.composite(filter, [
        terms('tactic', 'group.mitre.tactics'),
        terms('technique', 'group.mitre.techniques'),
      ])
    )
      .map((b) => ({
        tactic: b.key['tactic'] as string,
        technique: b.key['technique'] as string,
        incidents: b.doc_count,
      }))
      .sort((a, b) => cmp(a.tactic, b.tactic) || cmp(a.technique, b.technique));
    return {
      tactics: await per('group.mitre.tactics'),
      techniques: await per('group.mitre.techniques'),
      pairs,
    };
  }

  async slaBreachCounts(): Promise<{ real: SlaBreachCount[]; drill: SlaBreachCount[] }> {
    const breaches = async (which: Query): Promise<SlaBreachCount[]> => {
      const rows: SlaBreachCount[] = [];
      const buckets = await this.composite([which], [terms('severity', 'group.severity', true)], {
        acknowledge: { sum: { field: 'derived.ack_breaches' } },
        resolve: { sum: { field: 'derived.resolve_breaches' } },
      });
      for (const kind of ['acknowledge', 'resolve'] as SlaKind[])
        for (const b of buckets) {
          const n = value(b, kind) ?? 0;
          // As toIncident: a document without grouping fields reads as severity low.
          if (n > 0) rows.push({ kind, severity: (b.key['severity'] as Severity | null) ?? 'low', n });
        }
      // Merge a null-severity bucket into 'low' and order as the SQL (kind, then severity).
      const merged = new Map<string, SlaBreachCount>();
      for (const r of rows) {
        const k = `${r.kind}\u0000${r.severity}`;
        const o = merged.get(k);
        merged.set(k, o ? { ...o, n: o.n + r.n } : r);
      }
      return [...merged.values()].sort((a, b) => cmp(a.kind, b.kind) || cmp(a.severity, b.severity));
    };
    return { real: await breaches(REAL), drill: await breaches(DRILL) };
  }

  /** Every bucket of a composite aggregation over the matching incidents, paged to the end. */
  private async composite(
    filter: Query[],
    sources: Array<Record<string, estypes.AggregationsCompositeAggregationSource>>,
    aggs: Aggs = {},
  ): Promise<Bucket[]> {
    const out: Bucket[] = [];
    let after: Record<string, estypes.FieldValue> | undefined;
    for (;;) {
      const res = await this.search(filter, {
        rows: {
          composite: { size: this.pageSize, sources, ...(after ? { after } : {}) },
          ...(Object.keys(aggs).length ? { aggs } : {}),
        },
      });
      const agg = res.aggs?.['rows'] as
        { buckets: Bucket[]; after_key?: Record<string, estypes.FieldValue> } | undefined;
      const buckets = agg?.buckets ?? [];
      out.push(...buckets);
      if (buckets.length < this.pageSize || !agg?.after_key) return out;
      after = agg.after_key;
    }
  }

  /** A `size: 0` search: the exact total and the aggregations; no index yet = no incidents. */
  private async search(
    filter: Query[],
    aggs?: Aggs,
  ): Promise<{ total: number; aggs: Record<string, unknown> | undefined }> {
    try {
      const res = await this.client.search({
        index: this.index,
        size: 0,
        track_total_hits: true,
        query: { bool: { filter } },
        ...(aggs ? { aggs } : {}),
      });
      const t = res.hits.total;
      return {
        total: typeof t === 'number' ? t : (t?.value ?? 0),
        aggs: res.aggregations as Record<string, unknown> | undefined,
      };
    } catch (e) {
      if (e instanceof errors.ResponseError && e.statusCode === 404) return { total: 0, aggs: undefined };
      throw e;
    }
  }
}

function terms(
  name: string,
  field: string,
  missingBucket = false,
): Record<string, estypes.AggregationsCompositeAggregationSource> {
  return { [name]: { terms: { field, ...(missingBucket ? { missing_bucket: true } : {}) } } };
}

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

function value(b: Record<string, unknown> | undefined, name: string): number | null {
  const v = (b?.[name] as { value?: number | null } | undefined)?.value;
  return v === undefined || v === null ? null : v;
}

function count(b: Record<string, unknown> | undefined, name: string): number {
  return (b?.[name] as { doc_count?: number } | undefined)?.doc_count ?? 0;
}

function first(b: Record<string, unknown>, name: string): string | null {
  // A keyword terms bucket: the key is the string itself.
  const key = (b[name] as { buckets?: Array<{ key: string | number }> } | undefined)?.buckets?.[0]?.key;
  return key === undefined ? null : String(key);
}

/** Code-point order, as SQLite's BINARY collation and Elasticsearch's keyword order. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function maxOf(a: string | null, b: string | null): string | null {
  return a === null ? b : b === null ? a : cmp(a, b) >= 0 ? a : b;
}

/** Rows with the same key (a missing value read as '') added together. */
function merge(rows: VolumeRow[]): VolumeRow[] {
  const m = new Map<string, VolumeRow>();
  for (const r of rows) {
    const o = m.get(r.key);
    m.set(r.key, o ? { key: r.key, incidents: o.incidents + r.incidents, alerts: o.alerts + r.alerts } : r);
  }
  return [...m.values()];
}

/** The SQL's `ORDER BY alerts DESC, key ASC LIMIT n`. */
function top(rows: VolumeRow[], n: number): VolumeRow[] {
  return rows.sort((a, b) => b.alerts - a.alerts || cmp(a.key, b.key)).slice(0, n);
}
