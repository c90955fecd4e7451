import { type EcsEvent, getField } from '@citysoc/ecs';
import {
  type CompileOptions,
  type EsBackendOptions,
  type EsQuery,
  type SigmaLogsource,
  type LogsourcePredicate,
  type LogsourceSelection,
  type EsTranslation,
  type SigmaRule,
  compileRules,
  detectionToQuery,
  filterApplies,
  NotTranslatable,
  SigmaError,
  ruleToElasticsearch,
} from '@citysoc/sigma';
import { type EventStore, type Page } from '../ports';
import { ecsFieldType } from '../elasticsearch/templates';

/**
 * Retro-hunt: one Sigma rule over stored history. Every candidate event is confirmed by the same compiled
 * matcher (and logsource routing) the streaming detector uses, so a hunt reports exactly what the detector
 * would have alerted on. On Elasticsearch the rule is first translated to the query DSL so the cluster
 * does the searching; on SQLite the events of the range are streamed page by page through the matcher.
 * Both are bounded: at most `maxScanned` events read and `maxMatches` returned, and the result says so.
 */

export interface HuntRange {
  from?: string;
  to?: string;
  /** The caller's unit subtree (as in event search); undefined = city-wide. */
  scope?: string;
}

export interface HuntOptions {
  /** The detector's logsource routing; without it the rule sees every event. */
  logsource?: (ls: SigmaLogsource) => LogsourcePredicate | null;
  compile?: Pick<CompileOptions, 'fieldMap' | 'placeholders' | 'fieldsFor'>;
  /**
   * The same routing as `logsource`, as Sigma detections (CompiledPipeline.eventsFor): on Elasticsearch
   * they are translated and AND-ed into the query, so the cluster returns only the logsource's events.
   */
  logsourceSelections?: (ls: SigmaLogsource) => LogsourceSelection[] | null;
  /**
   * Sigma filter documents, as loaded next to the rules: those that apply to the hunted rule (by id or name,
   * and logsource, as the detector decides) are applied to it, so a hunt does not report what the detector
   * filters out. On Elasticsearch each one that translates is also pushed into the query as `must_not`.
   */
  filters?: SigmaRule[];
  /** Only events whose field has exactly this value (a drill run's events: `labels.drill` = the run id). */
  only?: { field: string; value: string };
  maxScanned?: number;
  maxMatches?: number;
  pageSize?: number;
}

export interface HuntMatch {
  event: EcsEvent;
  matchedFields: Record<string, unknown>;
}

export interface HuntResult {
  rule: { id: string; title: string; level: string };
  engine: 'matcher' | 'elasticsearch';
  range: HuntRange;
  matches: HuntMatch[];
  /** Events read from the store (on Elasticsearch: hits of the translated query). */
  scanned: number;
  /** Hits the matcher did not confirm (logsource, or a query broader than the rule): 0 on SQLite. */
  unconfirmed: number;
  truncated: false | 'max_scanned' | 'max_matches';
  /** The rule's logsource is not one the detector applies: the hunt did not run. */
  notApplicable?: string;
  /** On Elasticsearch: the query sent (the rule AND its logsource's events when those translate). */
  query?: EsQuery;
  /** On Elasticsearch: whether the logsource was part of the query (else the matcher alone applied it). */
  logsourcePushedDown?: boolean;
  /** The filter documents applied to the rule; `pushedDown` on Elasticsearch when the query excludes them. */
  filters: Array<{ id: string; title: string; pushedDown?: boolean }>;
  warnings: string[];
}

export class HuntError extends Error {
  readonly code = 'hunt_not_possible';
}

/** A store that can run query DSL over its events (the Elasticsearch store). */
export interface DslSearchable {
  searchEventsDsl(query: unknown, range: HuntRange, limit: number, after?: string): Promise<Page<EcsEvent>>;
}

function isDslSearchable(s: unknown): s is DslSearchable {
  return typeof (s as Partial<DslSearchable>).searchEventsDsl === 'function';
}

/** What the Sigma backend needs to know about the store's ECS mapping. */
export function storeBackendOptions(compile: HuntOptions['compile'] = {}): EsBackendOptions {
  return {
    ...(compile.fieldMap ? { fieldMap: compile.fieldMap } : {}),
    ...(compile.placeholders ? { placeholders: compile.placeholders } : {}),
    fieldType: ecsFieldType,
    exactField: { message: 'message.wildcard' },
    keywordFields: ['message.wildcard'],
  };
}

/**
 * A logsource's event selections as one query: an event belongs to the logsource if any selection holds,
 * each read with the field resolution the pipeline compiles it with. Not translatable → the reason.
 */
export function logsourceToElasticsearch(
  selections: readonly LogsourceSelection[],
  compile: HuntOptions['compile'] = {},
): EsTranslation {
  const warnings = new Set<string>();
  const queries: EsQuery[] = [];
  try {
    for (const sel of selections) {
      const t = detectionToQuery(sel.detection, { ...storeBackendOptions(compile), fieldPaths: sel.fields });
      t.warnings.forEach((w) => warnings.add(w));
      queries.push(t.query);
    }
  } catch (e) {
    if (e instanceof NotTranslatable || e instanceof SigmaError) return { ok: false, reason: e.message };
    throw e;
  }
  if (queries.length === 0) return { ok: true, query: { match_none: {} }, warnings: [] };
  const query =
    queries.length === 1 ? (queries[0] as EsQuery) : { bool: { should: queries, minimum_should_match: 1 } };
  return { ok: true, query, warnings: [...warnings] };
}

/** A filter document's condition as a query, its fields resolved for the filter's own logsource. */
export function filterToElasticsearch(
  filter: SigmaRule,
  compile: HuntOptions['compile'] = {},
): EsTranslation {
  try {
    const fieldPaths = compile.fieldsFor?.(filter.logsource);
    const t = detectionToQuery(filter.filter?.detection ?? {}, {
      ...storeBackendOptions(compile),
      ...(fieldPaths ? { fieldPaths } : {}),
    });
    return { ok: true, query: t.query, warnings: t.warnings };
  } catch (e) {
    if (e instanceof NotTranslatable || e instanceof SigmaError) return { ok: false, reason: e.message };
    throw e;
  }
}

export async function retroHunt(
  store: EventStore,
  rule: SigmaRule,
  range: HuntRange,
  o: HuntOptions = {},
): Promise<HuntResult> {
  const maxScanned = o.maxScanned ?? 100_000;
  const maxMatches = o.maxMatches ?? 1000;
  const pageSize = Math.min(o.pageSize ?? 500, 1000);
  const filters = (o.filters ?? []).filter((f) => f.kind === 'filter' && filterApplies(f, rule));
  const set = compileRules([rule, ...filters], {
    ...o.compile,
    ...(o.logsource ? { logsource: o.logsource } : {}),
  });
  const problem = set.errors[0]?.message ?? set.unsupported[0]?.reason;
  if (problem) throw new HuntError(`rule ${rule.id} cannot be evaluated: ${problem}`);
  const result: HuntResult = {
    rule: { id: rule.id, title: rule.title, level: rule.level },
    engine: isDslSearchable(store) ? 'elasticsearch' : 'matcher',
    range,
    matches: [],
    scanned: 0,
    unconfirmed: 0,
    truncated: false,
    filters: filters.map((f) => ({ id: f.id, title: f.title })),
    warnings: [],
  };
  if (set.notApplicable.length > 0) {
    result.notApplicable = `the detector does not apply rules with logsource ${JSON.stringify(rule.logsource)}`;
    return result;
  }

  let fetch: (after: string | undefined) => Promise<Page<EcsEvent>>;
  if (isDslSearchable(store)) {
    // The rule's fields resolve as the detector compiles them for this logsource (pipeline mappings).
    const fieldPaths = o.compile?.fieldsFor?.(rule.logsource);
    const t = ruleToElasticsearch(rule, {
      ...storeBackendOptions(o.compile),
      ...(fieldPaths ? { fieldPaths } : {}),
    });
    if (!t.ok)
      throw new HuntError(`rule ${rule.id} cannot be translated to the Elasticsearch query DSL: ${t.reason}`);
    let query = t.query;
    result.warnings.push(...t.warnings);
    result.logsourcePushedDown = false;
    const selections = o.logsourceSelections?.(rule.logsource);
    if (selections) {
      const ls = logsourceToElasticsearch(selections, o.compile);
      if (ls.ok) {
        query = { bool: { filter: [t.query, ls.query] } };
        result.logsourcePushedDown = true;
        result.warnings.push(...ls.warnings.filter((w) => !result.warnings.includes(w)));
      } else {
        // Still correct (the matcher applies the logsource to every hit), only less selective.
        result.warnings.push(`logsource not pushed into the query: ${ls.reason}`);
      }
    }
    const excluded: EsQuery[] = [];
    filters.forEach((f, i) => {
      const fq = filterToElasticsearch(f, o.compile);
      const entry = result.filters[i] as HuntResult['filters'][number];
      entry.pushedDown = fq.ok;
      if (fq.ok) excluded.push(fq.query);
      // Still correct without it: the matcher applies every filter to every hit.
      else result.warnings.push(`filter ${f.id} not pushed into the query: ${fq.reason}`);
    });
    const required: EsQuery[] = o.only ? [{ term: { [o.only.field]: o.only.value } }] : [];
    if (excluded.length > 0 || required.length > 0)
      query = {
        bool: {
          filter: [query, ...required],
          ...(excluded.length > 0 ? { must_not: excluded } : {}),
        },
      };
    result.query = query;
    const q = query;
    fetch = (after) => store.searchEventsDsl(q, range, pageSize, after);
  } else {
    fetch = (after) =>
      store.searchEvents({
        ...(range.from ? { from: range.from } : {}),
        ...(range.to ? { to: range.to } : {}),
        ...(range.scope !== undefined ? { scope: range.scope } : {}),
        limit: pageSize,
        ...(after ? { after } : {}),
      });
  }

  let after: string | undefined;
  do {
    const page = await fetch(after);
    for (const event of page.items) {
      if (result.scanned >= maxScanned) {
        result.truncated = 'max_scanned';
        return result;
      }
      result.scanned++;
      if (o.only && getField(event, o.only.field) !== o.only.value) {
        if (result.engine === 'elasticsearch') result.unconfirmed++;
        continue;
      }
      const [m] = set.match(event);
      if (!m) {
        if (result.engine === 'elasticsearch') result.unconfirmed++;
        continue;
      }
      result.matches.push({ event, matchedFields: m.matchedFields });
      if (result.matches.length >= maxMatches) {
        result.truncated = 'max_matches';
        return result;
      }
    }
    after = page.next;
  } while (after);
  return result;
}
