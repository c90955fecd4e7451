import { getField } from '@citysoc/ecs';
import type { RuleError } from '../errors';
import type { SigmaRule } from '../model';
import { type CompiledCorrelation, compileCorrelations } from './compile';
import type {
  CorrelationHit,
  CorrelationOptions,
  CorrelationRuleStats,
  CorrelationState,
  GroupValue,
  StoredEntry,
  StoredGroup,
  StoredRule,
} from './types';

interface Entry {
  t: number;
  r: number;
  v: string | number | null;
  refs: string[];
}

interface Group {
  key: string;
  group: Record<string, GroupValue>;
  watermark: number;
  fired: number[];
  entries: Entry[];
}

interface RuleState {
  c: CompiledCorrelation;
  groups: Map<string, Group>;
  watermark: number;
  stats: Omit<CorrelationRuleStats, 'groups'>;
}

/** What one referenced rule contributed in this `observe` call: the event itself or an inner hit. */
interface Input {
  refIndex: number;
  get: (path: string) => unknown;
  t: number;
  refs: string[];
  /** Same object for every ref an event matched, so an event matching two referenced rules counts once. */
  origin: object;
}

const FORMAT = 'citysoc.correlation/1';
const NONE: readonly never[] = [];

function emptyStats(): Omit<CorrelationRuleStats, 'groups'> {
  return { hits: 0, lateDropped: 0, groupEvictions: 0, groupsExpired: 0, entryEvictions: 0, valueMissing: 0 };
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return (
      '{' +
      Object.keys(o)
        .sort()
        .map((k) => JSON.stringify(k) + ':' + canonical(o[k]))
        .join(',') +
      '}'
    );
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Sigma compares values as strings, so `22` and `"22"` fall in one group. An absent field is `null`: its
 * own group, never merged with the string "null" (the key is JSON). Some SIEM backends drop such events
 * from `stats … by`; counting them keeps activity that lacks the field visible.
 */
function normalize(v: unknown): GroupValue {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'object':
      return v === null ? null : canonical(v);
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
  }
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** First index whose time is >= t (entries are sorted by time, ties in arrival order). */
function lowerBound(entries: Entry[], t: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((entries[mid] as Entry).t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose time is > t. */
function upperBound(entries: Entry[], t: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((entries[mid] as Entry).t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Linear interpolation between closest ranks (numpy's default, Excel PERCENTILE.INC). */
function percentileOf(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/**
 * Streaming evaluator for Sigma correlation rules (all seven types of spec 2.1). Pure: the only notion of
 * time is the event times it is given, so the same inputs in the same order always give the same hits.
 *
 * Windows slide on event time: the window of an event ending at time `e` is `[e − timespan, e]`, evaluated
 * when the event arrives (and, for an event that arrives late, also the windows of the later events it now
 * falls into). Evaluation happens only on arrival, so `lt`/`lte` conditions fire on the first event that
 * satisfies them; absence of events is not detected without an event.
 *
 * Episodes: a hit with window end `f` owns the interval `[f − timespan, f]` of its group. A window that
 * overlaps the interval of an earlier hit of the same group belongs to that episode and does not fire;
 * the correlation re-arms for windows that start after `f`, i.e. events later than `f + timespan`. So a
 * burst fires once, a sustained attack fires at most once per timespan, and no event counts in two hits.
 */
export class CorrelationEngine {
  readonly errors: RuleError[];
  private readonly compiled: CompiledCorrelation[];
  private readonly byId = new Map<string, RuleState>();
  /** Base or correlation rule id → correlations that reference it, in evaluation order. */
  private readonly listeners = new Map<string, CompiledCorrelation[]>();
  private readonly generates = new Map<string, boolean>();
  private readonly lateness: number;
  private readonly maxGroups: number;
  private readonly maxEvents: number;
  private readonly maxRefs: number;
  private invalidTime = 0;

  constructor(correlations: SigmaRule[], allRules: SigmaRule[], opts: CorrelationOptions = {}) {
    const { compiled, errors } = compileCorrelations(correlations, allRules);
    this.errors = errors;
    this.compiled = compiled;
    this.lateness = Math.max(0, opts.allowedLatenessMs ?? 0);
    this.maxGroups = Math.max(1, opts.maxGroupsPerRule ?? 10_000);
    this.maxEvents = Math.max(1, opts.maxEventsPerGroup ?? 10_000);
    this.maxRefs = Math.max(1, opts.maxRefsPerHit ?? 1_000);
    for (const c of compiled) {
      this.byId.set(c.rule.id, { c, groups: new Map(), watermark: -Infinity, stats: emptyStats() });
      for (const ref of new Set(c.refs)) {
        const list = this.listeners.get(ref) ?? [];
        list.push(c);
        this.listeners.set(ref, list);
        this.generates.set(ref, (this.generates.get(ref) ?? false) || c.generate);
      }
    }
  }

  /** Correlations that passed checks, in evaluation order. */
  get rules(): SigmaRule[] {
    return this.compiled.map((c) => c.rule);
  }

  /**
   * Whether a rule's own matches (or an intermediate correlation's hits) should raise alerts: yes unless a
   * working correlation references it, and then only if one of those sets `generate: true` (spec default
   * false). A quarantined correlation suppresses nothing, so a broken correlation fails open.
   */
  emitsAlerts(ruleId: string): boolean {
    return this.generates.get(ruleId) ?? true;
  }

  /** Whether any correlation consumes matches of this rule (the detector can skip the engine otherwise). */
  isReferenced(ruleId: string): boolean {
    return this.listeners.has(ruleId);
  }

  /**
   * A stable routing key for one group of one correlation. Replicas that own disjoint sets of these keys
   * never count the same group twice.
   */
  partitionKey(ruleId: string, group: Record<string, unknown>): string {
    const c = this.byId.get(ruleId)?.c;
    const names = c ? c.groupBy : Object.keys(group).sort();
    return JSON.stringify([ruleId, ...names.map((n) => normalize(group[n]))]);
  }

  /**
   * Partition keys of the groups this event would update, for routing it before `observe`. Covers
   * correlations that reference base rules directly; a chained correlation is evaluated where its inner
   * hits are produced, which is exact when the chain groups by the same fields (as the spec's examples do).
   */
  routeKeys(event: Record<string, unknown>, matchedRuleIds: readonly string[]): string[] {
    const out = new Set<string>();
    for (const id of matchedRuleIds) {
      for (const c of this.listeners.get(id) ?? []) {
        const refIndex = c.refs.indexOf(id);
        const fields = c.groupFields[refIndex] ?? [];
        out.add(JSON.stringify([c.rule.id, ...fields.map((f) => normalize(getField(event, f)))]));
      }
    }
    return [...out].sort();
  }

  /**
   * Feeds one event with the ids of the base rules it matched; returns the correlations that fired, inner
   * correlations of a chain before the ones that reference them.
   */
  observe(
    event: Record<string, unknown>,
    eventTimeMs: number,
    matchedRuleIds: readonly string[],
    eventRef: string,
    /**
     * With partitioned replicas: whether this engine owns a group, by its `routeKeys` key. Groups it does
     * not own are skipped for events; inner hits of a chain feed their outer correlation where they fire.
     */
    owns?: (routeKey: string) => boolean,
  ): CorrelationHit[] {
    // Only correlations that reference a matched rule (and, as they fire, their dependants) are visited,
    // so the cost does not grow with the number of unrelated correlations.
    const pending: number[] = [];
    for (const id of matchedRuleIds) {
      for (const c of this.listeners.get(id) ?? NONE) if (!pending.includes(c.order)) pending.push(c.order);
    }
    if (pending.length === 0) return [];
    if (!Number.isFinite(eventTimeMs)) {
      this.invalidTime++;
      return [];
    }
    let fired: Map<string, CorrelationHit[]> | undefined;
    const out: CorrelationHit[] = [];
    const fromEvent = (path: string): unknown => getField(event, path);
    while (pending.length > 0) {
      if (pending.length > 1) pending.sort((a, b) => a - b);
      const c = this.compiled[pending.shift() as number] as CompiledCorrelation;
      const inputs: Input[] = [];
      for (let refIndex = 0; refIndex < c.refs.length; refIndex++) {
        const ref = c.refs[refIndex] as string;
        if (matchedRuleIds.includes(ref)) {
          inputs.push({ refIndex, get: fromEvent, t: eventTimeMs, refs: [eventRef], origin: event });
          if (owns) {
            const fields = c.groupFields[refIndex] ?? [];
            const key = JSON.stringify([c.rule.id, ...fields.map((f) => normalize(fromEvent(f)))]);
            if (!owns(key)) inputs.pop();
          }
        }
        for (const hit of fired?.get(ref) ?? NONE) {
          // The outer correlation sees an inner hit as an event made of the inner group, falling back to the
          // event that completed it for fields the inner rule did not group by.
          const get = (path: string): unknown =>
            Object.hasOwn(hit.group, path) ? hit.group[path] : getField(event, path);
          inputs.push({ refIndex, get, t: hit.windowEndMs, refs: hit.eventRefs, origin: hit });
        }
      }
      if (inputs.length === 0) continue;
      const hits = this.feed(c, inputs);
      if (hits.length === 0) continue;
      (fired ??= new Map()).set(c.rule.id, hits);
      out.push(...hits);
      for (const d of this.listeners.get(c.rule.id) ?? NONE)
        if (!pending.includes(d.order)) pending.push(d.order);
    }
    return out;
  }

  private feed(c: CompiledCorrelation, inputs: Input[]): CorrelationHit[] {
    const st = this.byId.get(c.rule.id) as RuleState;
    const perEvent = c.type !== 'temporal' && c.type !== 'temporal_ordered';
    const counted = inputs.length > 1 ? new Map<object, Set<string>>() : undefined;
    const hits: CorrelationHit[] = [];
    for (const input of inputs) {
      const fields = c.groupFields[input.refIndex] as string[];
      const values = fields.map((f) => normalize(input.get(f)));
      const key = JSON.stringify(values);
      if (perEvent && counted) {
        // One event matching several referenced rules is one event for counting purposes.
        const keys = counted.get(input.origin) ?? new Set<string>();
        if (keys.has(key)) continue;
        keys.add(key);
        counted.set(input.origin, keys);
      }
      const v = this.valueOf(c, st, input);
      if (v === undefined) continue;
      const hit = this.update(c, st, key, values, { t: input.t, r: input.refIndex, v, refs: input.refs });
      if (hit) hits.push(hit);
    }
    return hits;
  }

  private valueOf(c: CompiledCorrelation, st: RuleState, input: Input): string | number | null | undefined {
    switch (c.type) {
      case 'event_count':
      case 'temporal':
      case 'temporal_ordered':
        return null;
      case 'value_count': {
        const vs = c.fields.map((f) => normalize(input.get(f)));
        // An absent value is not a distinct value (as `dc()`/cardinality treat it); the event is not stored.
        if (vs.some((x) => x === null)) return undefined;
        return vs.length === 1 ? vs[0] : JSON.stringify(vs);
      }
      case 'value_percentile':
      case 'value_sum':
      case 'value_avg': {
        if (c.type === 'value_percentile' && c.percentile === undefined) {
          const s = normalize(input.get(c.fields[0] as string));
          if (s === null) st.stats.valueMissing++;
          return s ?? undefined;
        }
        const n = toNumber(input.get(c.fields[0] as string));
        if (n === undefined) st.stats.valueMissing++;
        return n;
      }
    }
  }

  private update(
    c: CompiledCorrelation,
    st: RuleState,
    key: string,
    values: GroupValue[],
    entry: Entry,
  ): CorrelationHit | undefined {
    const T = c.timespanMs;
    let g = st.groups.get(key);
    if (g && entry.t < g.watermark - T - this.lateness) {
      st.stats.lateDropped++;
      return undefined;
    }
    if (!g) {
      const group: Record<string, GroupValue> = {};
      c.groupBy.forEach((name, i) => (group[name] = values[i] ?? null));
      g = { key, group, watermark: entry.t, fired: [], entries: [] };
    } else {
      st.groups.delete(key); // re-inserted below: Map order is the LRU order
    }
    st.groups.set(key, g);
    if (entry.t > st.watermark) st.watermark = entry.t;

    const late = entry.t < g.watermark;
    const at = upperBound(g.entries, entry.t);
    if (at === g.entries.length) g.entries.push(entry);
    else g.entries.splice(at, 0, entry);
    if (entry.t > g.watermark) g.watermark = entry.t;

    // A late event can still be the end of a window, so keep one more timespan behind the lateness bound.
    const horizon = g.watermark - 2 * T - this.lateness;
    const stale = lowerBound(g.entries, horizon);
    if (stale > 0) g.entries.splice(0, stale);
    if (g.entries.length > this.maxEvents) {
      const excess = g.entries.length - this.maxEvents;
      g.entries.splice(0, excess);
      st.stats.entryEvictions += excess;
    }
    while (g.fired.length > 0 && (g.fired[0] as number) < horizon - T) g.fired.shift();

    const hit = this.evaluate(c, g, entry, late);
    this.sweep(c, st, g);
    if (hit) st.stats.hits++;
    return hit;
  }

  /** Tests the windows the new entry belongs to, oldest first; returns the first that fires. */
  private evaluate(
    c: CompiledCorrelation,
    g: Group,
    entry: Entry,
    late: boolean,
  ): CorrelationHit | undefined {
    const T = c.timespanMs;
    const ends: { end: number; subject: Entry }[] = [{ end: entry.t, subject: entry }];
    if (late) {
      // The windows of later events now contain this one; each distinct end time is one window.
      const from = upperBound(g.entries, entry.t);
      const to = upperBound(g.entries, entry.t + T);
      for (let i = from; i < to; i++) {
        const e = g.entries[i] as Entry;
        const next = g.entries[i + 1];
        if (next === undefined || next.t !== e.t) ends.push({ end: e.t, subject: e });
      }
    }
    for (const { end, subject } of ends) {
      if (g.fired.some((f) => Math.abs(end - f) <= T)) continue;
      const lo = lowerBound(g.entries, end - T);
      const hi = upperBound(g.entries, end);
      if (hi <= lo) continue;
      const value = this.aggregate(c, g.entries, lo, hi, subject);
      if (value === undefined || !c.conditions.every((cmp) => compare(value, cmp.op, cmp.value))) continue;
      insertSorted(g.fired, end);
      return this.hit(c, g, lo, hi, end, value);
    }
    return undefined;
  }

  private aggregate(
    c: CompiledCorrelation,
    entries: Entry[],
    lo: number,
    hi: number,
    subject: Entry,
  ): number | undefined {
    switch (c.type) {
      case 'event_count':
        return hi - lo;
      case 'value_count': {
        const s = new Set<string | number | null>();
        for (let i = lo; i < hi; i++) s.add((entries[i] as Entry).v);
        return s.size;
      }
      case 'temporal': {
        const s = new Set<number>();
        for (let i = lo; i < hi; i++) s.add((entries[i] as Entry).r);
        return s.size;
      }
      case 'temporal_ordered': {
        // Length of the longest prefix of `rules` seen in order; greedy earliest matching is optimal.
        let k = 0;
        for (let i = lo; i < hi && k < c.refs.length; i++) if ((entries[i] as Entry).r === k) k++;
        return k;
      }
      case 'value_sum':
      case 'value_avg': {
        let sum = 0;
        for (let i = lo; i < hi; i++) sum += (entries[i] as Entry).v as number;
        return c.type === 'value_sum' ? sum : sum / (hi - lo);
      }
      case 'value_percentile': {
        if (c.percentile !== undefined) {
          const vs: number[] = [];
          for (let i = lo; i < hi; i++) vs.push((entries[i] as Entry).v as number);
          return percentileOf(vs, c.percentile);
        }
        // Spec 2.1's example ("a process name seen in less than 1% of all processes"): the share, in
        // percent, of the window's events that carry the value of the event that closes the window.
        let same = 0;
        for (let i = lo; i < hi; i++) if ((entries[i] as Entry).v === subject.v) same++;
        return (same * 100) / (hi - lo);
      }
    }
  }

  private hit(
    c: CompiledCorrelation,
    g: Group,
    lo: number,
    hi: number,
    end: number,
    value: number,
  ): CorrelationHit {
    const refs: string[] = [];
    const seen = new Set<string>();
    for (let i = lo; i < hi; i++) {
      for (const r of (g.entries[i] as Entry).refs) {
        if (seen.has(r)) continue;
        seen.add(r);
        refs.push(r);
      }
    }
    return {
      rule: c.rule,
      groupKey: g.key,
      group: { ...g.group },
      windowStartMs: (g.entries[lo] as Entry).t,
      windowEndMs: end,
      eventRefs: refs.length > this.maxRefs ? refs.slice(refs.length - this.maxRefs) : refs,
      value,
      alert: this.emitsAlerts(c.rule.id),
    };
  }

  /**
   * Drops groups that went quiet (newest event older than anything a late event could still reach) from
   * the LRU head, then evicts past the cap. Amortized O(1) per update and deterministic.
   */
  private sweep(c: CompiledCorrelation, st: RuleState, current: Group): void {
    const horizon = st.watermark - 2 * c.timespanMs - this.lateness;
    for (const [k, g] of st.groups) {
      if (g === current || g.watermark >= horizon) break;
      st.groups.delete(k);
      st.stats.groupsExpired++;
    }
    while (st.groups.size > this.maxGroups) {
      const head = st.groups.keys().next();
      if (head.done === true) break;
      st.groups.delete(head.value);
      st.stats.groupEvictions++;
    }
  }

  stats(): { invalidTime: number; rules: Record<string, CorrelationRuleStats> } {
    const rules: Record<string, CorrelationRuleStats> = {};
    for (const [id, st] of this.byId) rules[id] = { ...st.stats, groups: st.groups.size };
    return { invalidTime: this.invalidTime, rules };
  }

  snapshot(): CorrelationState {
    const rules: StoredRule[] = [];
    for (const st of this.byId.values()) {
      const groups: StoredGroup[] = [];
      for (const g of st.groups.values()) {
        groups.push({
          key: g.key,
          group: { ...g.group },
          watermark: g.watermark,
          fired: [...g.fired],
          entries: g.entries.map((e): StoredEntry => [e.t, e.r, e.v, [...e.refs]]),
        });
      }
      rules.push({
        id: st.c.rule.id,
        version: st.c.rule.version,
        watermark: Number.isFinite(st.watermark) ? st.watermark : 0,
        groups,
        stats: { ...st.stats },
      });
    }
    return { format: FORMAT, invalidTime: this.invalidTime, rules };
  }

  /**
   * Rebuilds an engine from a snapshot. State of a correlation that no longer exists or whose content
   * changed (another `version`) is discarded, since its windows may mean something else now; malformed
   * parts are skipped. Neither is an error: the engine starts those windows empty.
   */
  static restore(
    correlations: SigmaRule[],
    allRules: SigmaRule[],
    state: unknown,
    opts: CorrelationOptions = {},
  ): CorrelationEngine {
    const engine = new CorrelationEngine(correlations, allRules, opts);
    if (!isObject(state) || state['format'] !== FORMAT || !Array.isArray(state['rules'])) return engine;
    engine.invalidTime = finiteOr(state['invalidTime'], 0);
    for (const raw of state['rules'] as unknown[]) {
      if (!isObject(raw)) continue;
      const st = engine.byId.get(String(raw['id']));
      if (!st || raw['version'] !== st.c.rule.version || !Array.isArray(raw['groups'])) continue;
      st.watermark = finiteOr(raw['watermark'], -Infinity);
      if (isObject(raw['stats'])) {
        const s = raw['stats'];
        for (const k of Object.keys(st.stats) as (keyof RuleState['stats'])[]) {
          st.stats[k] = finiteOr(s[k], 0);
        }
      }
      for (const rg of raw['groups'] as unknown[]) {
        const g = readGroup(rg, st.c);
        if (g) st.groups.set(g.key, g);
      }
    }
    return engine;
  }
}

function compare(a: number, op: CompiledCorrelation['conditions'][number]['op'], b: number): boolean {
  switch (op) {
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'eq':
      return a === b;
    case 'neq':
      return a !== b;
  }
}

function insertSorted(list: number[], v: number): void {
  let i = list.length;
  while (i > 0 && (list[i - 1] as number) > v) i--;
  list.splice(i, 0, v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function finiteOr(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : d;
}

function readGroup(raw: unknown, c: CompiledCorrelation): Group | undefined {
  if (!isObject(raw) || typeof raw['key'] !== 'string' || !isObject(raw['group'])) return undefined;
  if (!Array.isArray(raw['entries']) || !Array.isArray(raw['fired'])) return undefined;
  const group: Record<string, GroupValue> = {};
  for (const name of c.groupBy) {
    const v = raw['group'][name];
    group[name] = typeof v === 'string' ? v : null;
  }
  const entries: Entry[] = [];
  for (const e of raw['entries'] as unknown[]) {
    if (!Array.isArray(e) || e.length !== 4) return undefined;
    const [t, r, v, refs] = e as unknown[];
    if (typeof t !== 'number' || !Number.isFinite(t)) return undefined;
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= c.refs.length) return undefined;
    if (!(v === null || typeof v === 'string' || typeof v === 'number')) return undefined;
    if (!Array.isArray(refs)) return undefined;
    entries.push({ t, r, v, refs: refs.map(String) });
  }
  const fired = (raw['fired'] as unknown[]).filter((f): f is number => typeof f === 'number');
  return { key: raw['key'], group, watermark: finiteOr(raw['watermark'], 0), fired, entries };
}
