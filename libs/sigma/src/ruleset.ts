import { performance } from 'node:perf_hooks';
import { type CompiledDetection, compileDetection } from './compile';
import { type RuleError, SigmaError } from './errors';
import { type MatchCtx, newCtx, resetCtx, setActiveCtx } from './event';
import {
  type CompileOptions,
  type LogsourcePredicate,
  type RuleMatch,
  type SigmaLogsource,
  type SigmaRule,
} from './model';
import { ANY_VALUE, type Requirement } from './prefilter/atoms';
import { CandidateIndex, type IndexInfo } from './prefilter/candidates';
import { RouteDispatch } from './route-dispatch';

export interface CompiledRule {
  match(event: Record<string, unknown>): RuleMatch | null;
}

/** Cost of one rule since the set was compiled (or since `resetStats`). */
export interface RuleStats {
  id: string;
  title: string;
  file: string;
  line: number;
  /** Events on which the rule was evaluated (the index let it through). */
  evaluations: number;
  matches: number;
  /** Evaluations that were timed: one in SAMPLE_EVERY, so leaving the counters on costs next to nothing. */
  timedEvaluations: number;
  timedNs: number;
  /** timedNs scaled up to all evaluations. */
  estimatedNs: number;
}

export interface RuleSetStats {
  events: number;
  /** Rule evaluations over all events; events × size is what an unindexed engine would do. */
  evaluations: number;
  index: IndexInfo;
  rules: RuleStats[];
}

export interface CompiledRuleSet {
  readonly size: number;
  readonly errors: RuleError[];
  /** Rules that loaded but that this engine does not evaluate per event (correlations for now). */
  readonly unsupported: ReadonlyArray<{ rule: SigmaRule; reason: string }>;
  /** Rules left out because `CompileOptions.logsource` returned null for their logsource. */
  readonly notApplicable: ReadonlyArray<SigmaRule>;
  /** Matches in rule order; read-only, since an event without any shares one empty array. */
  match(event: Record<string, unknown>): readonly RuleMatch[];
  /** Per-rule evaluations, matches and (sampled) time, in rule order. */
  stats(): RuleSetStats;
  resetStats(): void;
}

const NO_MATCHES: readonly RuleMatch[] = Object.freeze([]);

/** One evaluation in this many is timed; counting the rest is two increments. */
export const SAMPLE_EVERY = 16;

interface Entry {
  rule: SigmaRule;
  det: CompiledDetection;
  /** Position in the set, so candidates from the index are evaluated and reported in rule order. */
  idx: number;
  /** Generation stamp of the last `match` that queued this entry (dedup without a per-event Set). */
  seen: number;
  /** Index into the set's logsource predicates, or -1 when the rule applies to every event. */
  route: number;
  evaluations: number;
  matches: number;
  timed: number;
  timedNs: number;
  readonly req: CompiledDetection['req'];
  /** The detection's second requirement in the index: a candidate whose gate did not hold is skipped. */
  gate2: Gate | undefined;
}

/** A logsource predicate's requirement in the candidate index (never a candidate itself). */
interface Gate {
  readonly req: Requirement;
  readonly idx: number;
  seen: number;
  readonly gate: true;
}

/** Keyword atoms shorter than this hold in nearly every event (`:`, `@`) and are not worth a gate. */
const MIN_GATE_KEYWORD = 3;

/**
 * Whether a second requirement pays as a gate: one with a very short keyword atom filters next to
 * nothing, yet puts that needle in the keyword automaton of every event the rule's logsources see (a hit
 * per `:` of every timestamp). Without the gate the rule is evaluated whenever its first requirement holds.
 */
function worthGating(req: Requirement & object): boolean {
  return !req.some((a) => a.path === ANY_VALUE && a.k !== 'present' && a.text.length < MIN_GATE_KEYWORD);
}

/** The options one rule compiles with: its logsource's field resolver, when a pipeline supplies one. */
function ruleOptions(rule: SigmaRule, opts: CompileOptions): CompileOptions {
  const fields = opts.fieldsFor?.(rule.logsource);
  return fields ? { ...opts, fields } : opts;
}

function compileEntry(rule: SigmaRule, opts: CompileOptions): Entry {
  if (rule.kind === 'correlation' || !rule.support.supported) {
    throw new SigmaError(
      'UNSUPPORTED_RULE_KIND',
      rule.support.reason ?? `unsupported: ${rule.kind}`,
      rule.source.line,
    );
  }
  const det = compileDetection(
    rule.detection,
    ruleOptions(rule, opts),
    rule.detectionLines,
    rule.source.line,
  );
  return {
    rule,
    det,
    idx: 0,
    seen: 0,
    route: -1,
    evaluations: 0,
    matches: 0,
    timed: 0,
    timedNs: 0,
    // Filters wrap `det` as `inner and not filter`, which keeps the inner requirement.
    req: det.req,
    gate2: undefined,
  };
}

function matchOne(e: Entry, event: Record<string, unknown>): RuleMatch | null {
  const ctx = newCtx(event);
  if (!e.det.test(ctx)) return null;
  const matchedFields: Record<string, unknown> = {};
  e.det.collect(ctx, matchedFields);
  return { rule: e.rule, matchedFields };
}

/** Compiles one rule; throws SigmaError (with a code and, where known, a line) when it cannot. */
export function compileRule(rule: SigmaRule, opts: CompileOptions = {}): CompiledRule {
  const e = compileEntry(rule, opts);
  return { match: (event) => matchOne(e, event) };
}

/**
 * Sigma filters (spec 2.0 filters document, as pySigma applies them): a filter adds `and not <filter
 * condition>` to a rule when the rule is listed in `filter.rules` (by id or name; `any` lists every rule)
 * and the filter's logsource contains the rule's (every key the filter sets has the rule's value,
 * case-insensitively). Correlation rules are never filtered.
 */
export function filterApplies(filter: SigmaRule, rule: SigmaRule): boolean {
  const targets = filter.filter?.rules ?? [];
  const any = targets.length === 1 && targets[0]?.toLowerCase() === 'any';
  if (!any && !targets.includes(rule.id) && !(rule.name !== undefined && targets.includes(rule.name)))
    return false;
  const fl = filter.logsource;
  return (['product', 'category', 'service'] as const).every(
    (k) => fl[k] === undefined || fl[k]?.toLowerCase() === rule.logsource[k]?.toLowerCase(),
  );
}

function applyFilters(
  entries: Entry[],
  filters: SigmaRule[],
  opts: CompileOptions,
  errors: RuleError[],
): void {
  for (const f of filters) {
    let fdet: CompiledDetection;
    try {
      fdet = compileDetection(
        f.filter?.detection ?? {},
        ruleOptions(f, opts),
        f.detectionLines,
        f.source.line,
      );
    } catch (e) {
      if (!(e instanceof SigmaError)) throw e;
      errors.push({
        file: f.source.file,
        line: e.line ?? f.source.line,
        ruleId: f.id,
        code: e.code,
        message: e.message,
      });
      continue;
    }
    for (const entry of entries) {
      if (!filterApplies(f, entry.rule)) continue;
      const inner = entry.det;
      entry.det = {
        req: inner.req,
        req2: inner.req2,
        test: (ctx) => inner.test(ctx) && !fdet.test(ctx),
        collect: (ctx, out) => inner.collect(ctx, out),
      };
    }
  }
}

function logsourceKey(ls: SigmaLogsource): string {
  return JSON.stringify([ls.product ?? '', ls.category ?? '', ls.service ?? '', ls.definition ?? '']);
}

/**
 * One predicate per distinct logsource; a rule whose logsource the caller cannot select is left out. The
 * literal index stays shared: it is organised by field, so an event never scans the literals of fields
 * it lacks, and one keyword pass serves every logsource.
 */
function assignRoutes(
  entries: Entry[],
  select: (ls: SigmaLogsource) => LogsourcePredicate | null,
): { kept: Entry[]; dropped: SigmaRule[]; preds: LogsourcePredicate[] } {
  const byKey = new Map<string, number>();
  // Logsources that select with the same predicate share a route: one verdict per event for all of them.
  const byPred = new Map<LogsourcePredicate, number>();
  const preds: LogsourcePredicate[] = [];
  const kept: Entry[] = [];
  const dropped: SigmaRule[] = [];
  for (const e of entries) {
    const key = logsourceKey(e.rule.logsource);
    let g = byKey.get(key);
    if (g === undefined) {
      const p = select(e.rule.logsource);
      if (p) {
        g = byPred.get(p);
        if (g === undefined) {
          g = preds.push(p) - 1;
          byPred.set(p, g);
        }
      } else g = -1;
      byKey.set(key, g);
    }
    if (g < 0) dropped.push(e.rule);
    else {
      e.route = g;
      kept.push(e);
    }
  }
  return { kept, dropped, preds };
}

function evaluate(e: Entry, ctx: MatchCtx, timed: boolean): boolean {
  e.evaluations++;
  let ok: boolean;
  if (timed) {
    const t0 = performance.now();
    ok = e.det.test(ctx);
    e.timedNs += (performance.now() - t0) * 1e6;
    e.timed++;
  } else {
    ok = e.det.test(ctx);
  }
  if (ok) e.matches++;
  return ok;
}

/**
 * A rule that fails to compile is quarantined with an error; the set never throws for one bad rule.
 * Matching asks the literal index for the few rules that can match an event, then evaluates only those.
 */
export function compileRules(rules: SigmaRule[], opts: CompileOptions = {}): CompiledRuleSet {
  let entries: Entry[] = [];
  const errors: RuleError[] = [];
  const unsupported: { rule: SigmaRule; reason: string }[] = [];
  const filters: SigmaRule[] = [];
  for (const rule of rules) {
    if (rule.kind === 'filter') {
      filters.push(rule);
      continue;
    }
    if (!rule.support.supported) {
      unsupported.push({ rule, reason: rule.support.reason ?? `unsupported: ${rule.kind}` });
      continue;
    }
    try {
      entries.push(compileEntry(rule, opts));
    } catch (e) {
      if (!(e instanceof SigmaError)) throw e;
      errors.push({
        file: rule.source.file,
        line: e.line ?? rule.source.line,
        ruleId: rule.id,
        code: e.code,
        message: e.message,
      });
    }
  }
  applyFilters(entries, filters, opts, errors);
  let notApplicable: SigmaRule[] = [];
  let preds: LogsourcePredicate[] = [];
  if (opts.logsource) {
    const r = assignRoutes(entries, opts.logsource);
    entries = r.kept;
    notApplicable = r.dropped;
    preds = r.preds;
  }
  entries.forEach((e, i) => {
    e.idx = i;
    // Filters were applied above: `det` is final, and its second requirement still holds for it.
    const r2 = e.det.req2;
    e.gate2 = r2 && worthGating(r2) ? { req: r2, idx: -1, seen: 0, gate: true } : undefined;
  });
  // A predicate that states its literals gets a gate in the same index, so the one walk over the event
  // that finds candidate rules also tells which logsources can admit it. Keyword atoms are left out: the
  // keyword pass runs after the routes that own keyword rules were asked.
  const gateOf = (req: Requirement | undefined): Gate | undefined =>
    req && !req.some((a) => a.path === ANY_VALUE) ? { req, idx: -1, seen: 0, gate: true } : undefined;
  const gates = preds.map((p) => gateOf(p.req));
  // Most entries select `event.module: syslog` and a list of programs: the second gate is the list.
  const gates2 = preds.map((p) => gateOf(p.req2));
  // Every index of the set stamps the same entries: one clock keeps their stamps apart.
  const clock = { gen: 0 };
  const index = new CandidateIndex<Entry | Gate>(
    [
      ...entries,
      ...[...gates, ...gates2].filter((g): g is Gate => g !== undefined),
      ...entries.flatMap((e) => (e.gate2 ? [e.gate2] : [])),
    ],
    clock,
  );
  // With routes, the logsources that admit an event are found first and only their rules are indexed
  // against it; `index` with lazily asked predicates remains the path for events the dispatch declines.
  const dispatch = preds.length > 0 ? RouteDispatch.create(preds, entries, clock) : undefined;
  // Per event: 0 = predicate not asked yet, 1 = the event belongs to the logsource, 2 = it does not.
  const verdicts = new Uint8Array(preds.length);
  let event: Record<string, unknown> = {};
  const admits = (g: number): boolean => {
    let v = verdicts[g] as number;
    if (v === 0) {
      const gate = gates[g];
      const gate2 = gates2[g];
      v = verdicts[g] =
        (gate !== undefined && !index.stamped(gate)) || (gate2 !== undefined && !index.stamped(gate2))
          ? 2
          : (preds[g] as LogsourcePredicate)(event)
            ? 1
            : 2;
    }
    return v === 1;
  };
  // The keyword pass scans every value of the event; with routing it is needed only when one of the
  // logsources that own keyword rules admits the event.
  const keywordRoutes = [
    ...new Set(
      entries
        .filter((e) => [e.req, e.gate2?.req].some((r) => r?.some((a) => a.path === ANY_VALUE)))
        .map((e) => e.route),
    ),
  ];
  const keywords =
    preds.length > 0 && !keywordRoutes.includes(-1) ? () => keywordRoutes.some(admits) : undefined;
  // A candidate runs only if its second requirement held and its logsource admits the event.
  const keep = (c: Entry | Gate): boolean => {
    const e = c as Entry;
    return (e.gate2 === undefined || index.stamped(e.gate2)) && (e.route < 0 || admits(e.route));
  };
  let events = 0;
  let tick = 0;
  // One context for every event of this set, reset per event (like the index's stamps and `verdicts`, so
  // a set is not re-entrant; another set has its own).
  const ctx = newCtx({});

  return {
    size: entries.length,
    errors,
    unsupported,
    notApplicable,
    match(ev) {
      events++;
      event = ev;
      resetCtx(ctx, ev);
      let out: RuleMatch[] | undefined;
      setActiveCtx(ctx);
      try {
        const combo = dispatch?.combo(ctx);
        let candidates: (Entry | Gate)[];
        if (combo !== undefined) {
          if (combo.empty) return NO_MATCHES;
          candidates = combo.index.candidates(ctx, undefined, combo.keep) as Entry[];
        } else {
          if (preds.length > 0) verdicts.fill(0);
          candidates = index.candidates(ctx, keywords, keep);
        }
        for (const c of candidates) {
          const e = c as Entry;
          if (!evaluate(e, ctx, ++tick % SAMPLE_EVERY === 0)) continue;
          const matchedFields: Record<string, unknown> = {};
          e.det.collect(ctx, matchedFields);
          (out ??= []).push({ rule: e.rule, matchedFields });
        }
      } finally {
        setActiveCtx(undefined);
      }
      return out ?? NO_MATCHES;
    },
    stats() {
      let evaluations = 0;
      const list = entries.map((e): RuleStats => {
        evaluations += e.evaluations;
        return {
          id: e.rule.id,
          title: e.rule.title,
          file: e.rule.source.file,
          line: e.rule.source.line,
          evaluations: e.evaluations,
          matches: e.matches,
          timedEvaluations: e.timed,
          timedNs: Math.round(e.timedNs),
          estimatedNs: e.timed > 0 ? Math.round((e.timedNs / e.timed) * e.evaluations) : 0,
        };
      });
      return { events, evaluations, index: index.info, rules: list };
    },
    resetStats() {
      events = 0;
      for (const e of entries) e.evaluations = e.matches = e.timed = e.timedNs = 0;
    },
  };
}
