import type { RuleError, SigmaErrorCode } from '../errors';
import type { SigmaRule } from '../model';

export const CORRELATION_TYPES = [
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
] as const;
export type CorrelationType = (typeof CORRELATION_TYPES)[number];

export const CONDITION_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export interface Comparison {
  op: ConditionOp;
  value: number;
}

/** A correlation rule checked and resolved once, so the hot path never looks anything up by name. */
export interface CompiledCorrelation {
  rule: SigmaRule;
  type: CorrelationType;
  /** Canonical ids (`SigmaRule.id`) of the referenced rules, in the order of `rules` (matters for temporal_ordered). */
  refs: string[];
  /** Output names of the group (aliases keep their alias name). */
  groupBy: string[];
  /** groupFields[refIndex][groupIndex] = event path to read for that referenced rule. */
  groupFields: string[][];
  timespanMs: number;
  conditions: Comparison[];
  /** value_* types: the field(s) whose values are aggregated. */
  fields: string[];
  /** value_percentile with an explicit `percentile` (0–100); absent = frequency-share semantics. */
  percentile?: number;
  generate: boolean;
  /** Position in evaluation order: referenced correlations always come first. */
  order: number;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `number + lower-case unit` exactly as the spec writes it; anything else is refused, not guessed. */
export function parseTimespan(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = UNITS[m[2] as string] as number;
  return n > 0 && Number.isSafeInteger(n * unit) ? n * unit : undefined;
}

class Problem extends Error {
  constructor(
    readonly code: SigmaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function ruleError(rule: SigmaRule, code: SigmaErrorCode, message: string): RuleError {
  return { file: rule.source.file, line: rule.source.line, ruleId: rule.id, code, message };
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** Resolves `rules:` entries by id first, then by name, as the spec asks tools to translate names. */
export class RuleDirectory {
  private readonly byId = new Map<string, SigmaRule>();
  private readonly byName = new Map<string, SigmaRule[]>();

  constructor(rules: Iterable<SigmaRule>) {
    for (const r of rules) {
      if (!this.byId.has(r.id)) this.byId.set(r.id, r);
      if (r.name !== undefined) {
        const list = this.byName.get(r.name) ?? [];
        if (!list.includes(r)) list.push(r);
        this.byName.set(r.name, list);
      }
    }
  }

  resolve(ref: string): SigmaRule {
    const byId = this.byId.get(ref);
    if (byId) return byId;
    const named = this.byName.get(ref) ?? [];
    if (named.length === 1) return named[0] as SigmaRule;
    if (named.length > 1) throw new Problem('UNKNOWN_IDENTIFIER', `rule name '${ref}' is ambiguous`);
    throw new Problem('UNKNOWN_IDENTIFIER', `referenced rule '${ref}' not found`);
  }
}

function compileOne(rule: SigmaRule, dir: RuleDirectory): Omit<CompiledCorrelation, 'order'> {
  const c = rule.correlation;
  if (!c) throw new Problem('MISSING_FIELD', 'correlation section is missing');
  const type = c.type as CorrelationType;
  if (!(CORRELATION_TYPES as readonly string[]).includes(type)) {
    throw new Problem('INVALID_FIELD', `unknown correlation type '${c.type}'`);
  }
  if (c.rules.length === 0) throw new Problem('MISSING_FIELD', 'correlation.rules is required');
  const refRules = c.rules.map((r) => dir.resolve(r));
  const refs = refRules.map((r) => r.id);
  if (new Set(refs).size !== refs.length && (type === 'temporal' || type === 'temporal_ordered')) {
    // Counting "distinct rules that fired" is meaningless when one rule is listed twice.
    throw new Problem('INVALID_FIELD', 'correlation.rules lists the same rule twice');
  }
  if (refs.includes(rule.id)) throw new Problem('INVALID_FIELD', 'a correlation cannot reference itself');

  const timespanMs = parseTimespan(c.timespan);
  if (timespanMs === undefined) {
    throw new Problem(
      c.timespan === undefined ? 'MISSING_FIELD' : 'INVALID_FIELD',
      c.timespan === undefined
        ? 'correlation.timespan is required'
        : `correlation.timespan '${c.timespan}' is not <number><s|m|h|d>`,
    );
  }

  const cond = c.condition ?? {};
  const conditions: Comparison[] = [];
  let fields: string[] = [];
  let percentile: number | undefined;
  for (const [k, v] of Object.entries(cond)) {
    if ((CONDITION_OPS as readonly string[]).includes(k)) {
      const n = num(v);
      if (n === undefined) throw new Problem('INVALID_FIELD', `correlation.condition.${k} must be a number`);
      conditions.push({ op: k as ConditionOp, value: n });
    } else if (k === 'field') {
      fields = (Array.isArray(v) ? v : [v]).map(String);
    } else if (k === 'percentile') {
      const p = num(v);
      if (p === undefined || p < 0 || p > 100) {
        throw new Problem('INVALID_FIELD', 'correlation.condition.percentile must be a number from 0 to 100');
      }
      percentile = p;
    } else {
      throw new Problem('INVALID_FIELD', `unknown correlation.condition key '${k}'`);
    }
  }
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  if (conditions.length === 0) {
    // The spec makes the condition optional only for temporal types: then every listed rule must fire.
    if (!temporal) throw new Problem('MISSING_FIELD', `correlation.condition is required for ${type}`);
    conditions.push({ op: 'gte', value: refs.length });
  }
  const valueType = type.startsWith('value_');
  if (valueType && fields.length === 0) {
    throw new Problem('MISSING_FIELD', `correlation.condition.field is required for ${type}`);
  }
  if (!valueType && fields.length > 0) {
    throw new Problem('INVALID_FIELD', `correlation.condition.field has no meaning for ${type}`);
  }
  if (valueType && type !== 'value_count' && fields.length !== 1) {
    throw new Problem('INVALID_FIELD', `${type} aggregates exactly one field`);
  }
  if (percentile !== undefined && type !== 'value_percentile') {
    throw new Problem('INVALID_FIELD', `correlation.condition.percentile has no meaning for ${type}`);
  }

  // Aliases name rules by id or name; both resolve to the canonical id so lookups are by refIndex.
  const aliasFields = new Map<string, Map<string, string>>();
  for (const [alias, mapping] of Object.entries(c.aliases ?? {})) {
    if (mapping === null || typeof mapping !== 'object' || Array.isArray(mapping)) {
      throw new Problem('INVALID_FIELD', `correlation.aliases.${alias} must map rule names to fields`);
    }
    const perRule = new Map<string, string>();
    for (const [ruleRef, field] of Object.entries(mapping as Record<string, unknown>)) {
      const id = dir.resolve(ruleRef).id;
      if (!refs.includes(id)) {
        throw new Problem('INVALID_FIELD', `alias '${alias}' names rule '${ruleRef}' that is not in rules`);
      }
      if (typeof field !== 'string' || field === '') {
        throw new Problem('INVALID_FIELD', `alias '${alias}' must give a field name for '${ruleRef}'`);
      }
      perRule.set(id, field);
    }
    aliasFields.set(alias, perRule);
  }
  const groupBy = c.groupBy ?? [];
  // A rule the alias does not list reads the alias name itself as its field, so an alias may rename the
  // field for only the rules whose events name it differently.
  const groupFields = refs.map((id) => groupBy.map((g) => aliasFields.get(g)?.get(id) ?? g));

  const out: Omit<CompiledCorrelation, 'order'> = {
    rule,
    type,
    refs,
    groupBy,
    groupFields,
    timespanMs,
    conditions,
    fields,
    generate: c.generate === true,
  };
  if (percentile !== undefined) out.percentile = percentile;
  return out;
}

export interface CompileResult {
  /** In evaluation order: a correlation comes after every correlation it references. */
  compiled: CompiledCorrelation[];
  errors: RuleError[];
}

/**
 * Checks every correlation and resolves its references. A broken correlation, one in a reference cycle, and
 * any correlation that depends on one of those are quarantined with an error; the rest still run.
 */
export function compileCorrelations(correlations: SigmaRule[], allRules: SigmaRule[]): CompileResult {
  const dir = new RuleDirectory([...allRules, ...correlations]);
  const errors: RuleError[] = [];
  const ok = new Map<string, Omit<CompiledCorrelation, 'order'>>();
  const seen = new Set<string>();
  for (const rule of correlations) {
    if (rule.kind !== 'correlation') {
      errors.push(ruleError(rule, 'INVALID_DOCUMENT', 'not a correlation rule'));
      continue;
    }
    if (seen.has(rule.id)) {
      errors.push(ruleError(rule, 'INVALID_DOCUMENT', `duplicate correlation id '${rule.id}'`));
      continue;
    }
    seen.add(rule.id);
    try {
      ok.set(rule.id, compileOne(rule, dir));
    } catch (e) {
      if (!(e instanceof Problem)) throw e;
      errors.push(ruleError(rule, e.code, e.message));
    }
  }
  const isCorrelationId = (id: string): boolean => seen.has(id);

  // Depth-first over correlation→correlation edges; a grey node reached again closes a cycle.
  const state = new Map<string, 'grey' | 'done' | 'bad'>();
  const ordered: Omit<CompiledCorrelation, 'order'>[] = [];
  const visit = (id: string, path: string[]): boolean => {
    const s = state.get(id);
    if (s === 'done') return true;
    if (s === 'bad') return false;
    const c = ok.get(id);
    if (!c) return false; // quarantined already, its dependants follow it
    if (s === 'grey') {
      const cycle = [...path.slice(path.indexOf(id)), id].join(' -> ');
      errors.push(ruleError(c.rule, 'INVALID_FIELD', `correlation reference cycle: ${cycle}`));
      state.set(id, 'bad');
      return false;
    }
    state.set(id, 'grey');
    let good = true;
    for (const ref of c.refs) {
      if (!isCorrelationId(ref)) continue;
      if (!visit(ref, [...path, id])) {
        if (state.get(id) !== 'bad') {
          errors.push(
            ruleError(c.rule, 'UNKNOWN_IDENTIFIER', `referenced correlation '${ref}' is quarantined`),
          );
        }
        good = false;
      }
    }
    if (!good || state.get(id) === 'bad') {
      state.set(id, 'bad');
      return false;
    }
    state.set(id, 'done');
    ordered.push(c);
    return true;
  };
  for (const rule of correlations) if (ok.has(rule.id)) visit(rule.id, []);
  return { compiled: ordered.map((c, order) => ({ ...c, order })), errors };
}
