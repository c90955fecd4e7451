import { type CompiledDetection, compileDetection } from './compile';
import { type RuleError, SigmaError } from './errors';
import { newCtx } from './event';
import { type CompileOptions, type RuleMatch, type SigmaRule } from './model';

export interface CompiledRule {
  match(event: Record<string, unknown>): RuleMatch | null;
}

export interface CompiledRuleSet {
  readonly size: number;
  readonly errors: RuleError[];
  /** Rules that loaded but that this engine does not evaluate per event (correlations for now). */
  readonly unsupported: ReadonlyArray<{ rule: SigmaRule; reason: string }>;
  match(event: Record<string, unknown>): RuleMatch[];
}

interface Entry {
  rule: SigmaRule;
  det: CompiledDetection;
  /** Position in the set, so candidates from the index are evaluated and reported in rule order. */
  idx: number;
  /** Generation stamp of the last `match` that queued this entry (dedup without a per-event Set). */
  seen: number;
}

function compileEntry(rule: SigmaRule, opts: CompileOptions): Entry {
  if (rule.kind === 'correlation' || !rule.support.supported) {
    throw new SigmaError(
      'UNSUPPORTED_RULE_KIND',
      rule.support.reason ?? `unsupported: ${rule.kind}`,
      rule.source.line,
    );
  }
  return {
    rule,
    det: compileDetection(rule.detection, opts, rule.detectionLines, rule.source.line),
    idx: 0,
    seen: 0,
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

/** Filters apply `and not <filter condition>` to the rules they name (by id or name). */
function applyFilters(
  entries: Entry[],
  filters: SigmaRule[],
  opts: CompileOptions,
  errors: RuleError[],
): void {
  for (const f of filters) {
    let fdet: CompiledDetection;
    try {
      fdet = compileDetection(f.filter?.detection ?? {}, opts, f.detectionLines, f.source.line);
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
    const targets = new Set(f.filter?.rules ?? []);
    for (const entry of entries) {
      if (!targets.has(entry.rule.id) && !(entry.rule.name !== undefined && targets.has(entry.rule.name)))
        continue;
      const inner = entry.det;
      entry.det = {
        req: inner.req,
        test: (ctx) => inner.test(ctx) && !fdet.test(ctx),
        collect: (ctx, out) => inner.collect(ctx, out),
      };
    }
  }
}

/**
 * Every path under which the event holds a value, nested (`a.b`) and flat-dotted keys alike: a superset of
 * the paths `getField` can resolve, so the index never hides a rule that could match.
 */
function forEachPath(
  v: Record<string, unknown>,
  prefix: string,
  depth: number,
  fn: (path: string) => void,
): void {
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const p = prefix === '' ? k : prefix + '.' + k;
    fn(p);
    const child = v[k];
    if (depth < 16 && child !== null && typeof child === 'object' && !Array.isArray(child)) {
      forEachPath(child as Record<string, unknown>, p, depth + 1, fn);
    }
  }
}

/**
 * Field-presence index: a rule whose detection needs one of a few fields is only evaluated on events that
 * carry one of them. Rules without such a requirement (keywords, pure negations) run on every event.
 * Walking thousands of closures per event is memory-bound, so skipping them is what keeps `match` fast.
 */
class FieldIndex {
  private readonly byField = new Map<string, Entry[]>();
  private readonly always: Entry[] = [];
  private gen = 0;

  constructor(entries: Entry[]) {
    for (const e of entries) {
      const req = e.det.req;
      if (!req || req.size === 0) {
        this.always.push(e);
        continue;
      }
      for (const f of req) {
        const list = this.byField.get(f);
        if (list) list.push(e);
        else this.byField.set(f, [e]);
      }
    }
  }

  candidates(event: Record<string, unknown>): Entry[] {
    const gen = ++this.gen;
    const out: Entry[] = [];
    for (const e of this.always) {
      e.seen = gen;
      out.push(e);
    }
    const byField = this.byField;
    forEachPath(event, '', 0, (p) => {
      const list = byField.get(p);
      if (!list) return;
      for (const e of list) {
        if (e.seen === gen) continue;
        e.seen = gen;
        out.push(e);
      }
    });
    if (out.length > this.always.length) out.sort((a, b) => a.idx - b.idx);
    return out;
  }
}

/**
 * A rule that fails to compile is quarantined with an error; the set never throws for one bad rule.
 * The field index is the seam for the logsource and literal-value indexes of issue 3.
 */
export function compileRules(rules: SigmaRule[], opts: CompileOptions = {}): CompiledRuleSet {
  const entries: Entry[] = [];
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
  entries.forEach((e, i) => (e.idx = i));
  const index = new FieldIndex(entries);

  return {
    size: entries.length,
    errors,
    unsupported,
    match(event) {
      const ctx = newCtx(event);
      let out: RuleMatch[] | undefined;
      for (const e of index.candidates(event)) {
        if (!e.det.test(ctx)) continue;
        const matchedFields: Record<string, unknown> = {};
        e.det.collect(ctx, matchedFields);
        (out ??= []).push({ rule: e.rule, matchedFields });
      }
      return out ?? [];
    },
  };
}
