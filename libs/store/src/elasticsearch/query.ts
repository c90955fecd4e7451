import { type AlertQuery, type EventAggregateQuery, type EventQuery } from '../ports';
import { StoreQueryError, clampLimit, jsonPath, toMs, validateAggregate } from '../sqlite/db';

/** Search bodies for the store port. Pure: golden-tested, and the fake cluster in the tests evaluates them. */

export const MAX_TRACKED_HITS = 10_000;

/** Sort values come back as strings in this format: nanosecond dates overflow a JS number. */
const TS_SORT = { '@timestamp': { order: 'desc', format: 'strict_date_optional_time_nanos' } } as const;

export interface SearchBody {
  query: { bool: { filter: unknown[]; must?: unknown[] } };
  sort: unknown[];
  size: number;
  track_total_hits: number;
  search_after?: [string, string];
}

/** The cursor is the last hit's sort values (timestamp string, tiebreaker id), base64url JSON. */
export function encodeSortCursor(sort: unknown): string | undefined {
  if (!Array.isArray(sort) || sort.length !== 2) return undefined;
  return Buffer.from(JSON.stringify(sort.map(String))).toString('base64url');
}

export function decodeSortCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  throw new StoreQueryError('invalid cursor');
}

function rangeFilter(from: string | undefined, to: string | undefined): unknown[] {
  const f = toMs(from, 'from');
  const t = toMs(to, 'to');
  if (f === undefined && t === undefined) return [];
  return [
    {
      range: {
        '@timestamp': {
          ...(f !== undefined ? { gte: new Date(f).toISOString() } : {}),
          ...(t !== undefined ? { lt: new Date(t).toISOString() } : {}),
        },
      },
    },
  ];
}

function validField(field: string): string {
  jsonPath(field); // throws StoreQueryError on anything but a plain dotted field name
  return field;
}

/**
 * Words are ANDed like the SQLite store's FTS query, and `flags: NONE` makes every character literal, so
 * user input can never be query syntax. Same limit of 20 words.
 */
export function fullTextClause(text: string | undefined): unknown[] {
  const words = (text ?? '')
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .slice(0, 20);
  if (words.length === 0) return [];
  return [
    {
      simple_query_string: {
        query: words.join(' '),
        fields: ['message'],
        default_operator: 'and',
        flags: 'NONE',
      },
    },
  ];
}

/**
 * The caller's unit subtree, as the SQLite store's unitScopeJson: the reporting, source or destination unit
 * lies in the scope's subtree. A path is an array of unit ids from the city down, which Elasticsearch indexes
 * as an unordered set of keywords, so the positional comparison SQLite does cannot be expressed; instead every
 * id of the scope's path must be in the unit's path. Unit ids are unique across the city (the units file
 * refuses duplicates) and a path is the chain of ancestors, so the two agree: the unit is the scope's last
 * unit or below it, under the same ancestors. Empty path segments are refused like an invalid field.
 */
export function unitScopeClause(scope: string, base: 'citysoc' | 'event.citysoc'): unknown {
  const parts = scope.split('/');
  if (parts.some((p) => p.length === 0)) throw new StoreQueryError('invalid unit scope');
  return {
    bool: {
      should: (['unit', 'source_unit', 'destination_unit'] as const).map((which) => ({
        bool: { filter: parts.map((p) => ({ term: { [`${base}.${which}.path`]: p } })) },
      })),
      minimum_should_match: 1,
    },
  };
}

function eventFilters(q: Omit<EventQuery, 'limit' | 'after'>): unknown[] {
  const filter: unknown[] = [...rangeFilter(q.from, q.to)];
  if (q.scope !== undefined) filter.push(unitScopeClause(q.scope, 'citysoc'));
  for (const [field, value] of Object.entries(q.fields ?? {}))
    filter.push({ term: { [validField(field)]: value } });
  return filter;
}

export function eventSearchBody(q: EventQuery): SearchBody {
  const limit = clampLimit(q.limit);
  const filter = eventFilters(q);
  const must = fullTextClause(q.text);
  return {
    query: { bool: { filter, ...(must.length ? { must } : {}) } },
    sort: [TS_SORT, { 'event.id': { order: 'desc' } }],
    // One more than asked says whether there is a next page without a second request.
    size: limit + 1,
    track_total_hits: MAX_TRACKED_HITS,
    ...(q.after ? { search_after: decodeSortCursor(q.after) } : {}),
  };
}

export function alertSearchBody(q: AlertQuery): SearchBody {
  const limit = clampLimit(q.limit);
  const filter: unknown[] = [...rangeFilter(q.from, q.to)];
  if (q.ruleId) filter.push({ term: { 'rule.id': q.ruleId } });
  if (q.level) filter.push({ term: { 'rule.level': q.level } });
  if (q.entity) filter.push({ term: { entity: q.entity } });
  if (q.scope !== undefined) filter.push(unitScopeClause(q.scope, 'event.citysoc'));
  // Drill alerts also live in the drill namespace; the label decides, as in the SQLite store.
  const drilled = { exists: { field: 'event.labels.drill' } };
  if (q.drill === 'only') filter.push(drilled);
  return {
    query: { bool: { filter, ...(q.drill === 'exclude' ? { must_not: [drilled] } : {}) } },
    sort: [TS_SORT, { id: { order: 'desc' } }],
    size: limit + 1,
    track_total_hits: MAX_TRACKED_HITS,
    ...(q.after ? { search_after: decodeSortCursor(q.after) } : {}),
  };
}

/**
 * Hunt aggregates as one size-0 search: a fixed-interval date histogram (epoch-aligned, like the SQLite
 * store's integer division) and one terms aggregation per field. Field names are validated as for filters.
 */
export function eventAggregateBody(q: EventAggregateQuery): {
  query: SearchBody['query'];
  size: 0;
  track_total_hits: true;
  aggs: Record<string, unknown>;
} {
  const { intervalMs, top, topN } = validateAggregate(q);
  const filter = eventFilters(q);
  const must = fullTextClause(q.text);
  const aggs: Record<string, unknown> = {
    histogram: {
      date_histogram: { field: '@timestamp', fixed_interval: `${intervalMs}ms`, min_doc_count: 1 },
    },
  };
  top.forEach((field, i) => {
    aggs[`top_${i}`] = { terms: { field, size: topN } };
  });
  return {
    query: { bool: { filter, ...(must.length ? { must } : {}) } },
    size: 0,
    track_total_hits: true,
    aggs,
  };
}
