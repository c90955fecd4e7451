import { type CondNode, identifierPatternMatcher, parseCondition } from '../../condition';
import { SigmaError } from '../../errors';
import { type SigmaRule } from '../../model';
import { MODIFIERS, wrap } from '../../modifiers/registry';
import { type SValue, type TransformCtx } from '../../modifiers/value';
import { type Part, lit, normalize, parseSigmaString, star } from '../../pattern';
import { RegexNotTranslatable, toLuceneRegex } from './lucene-regex';

/**
 * Sigma → Elasticsearch query DSL, on the same rule model and with the same field names as the streaming
 * matcher (pySigma's approach: a backend per target, field mapping as configuration). The DSL is meant to
 * select the same events the matcher does; where Elasticsearch cannot express a Sigma construct the rule
 * is refused with a reason, never silently weakened. Known, stated approximations come back as warnings.
 */

export type EsQuery = Record<string, unknown>;

export interface EsBackendOptions {
  /** Sigma field name → event path, as in CompileOptions.fieldMap (the detector uses ECS names as is). */
  fieldMap?: Record<string, string>;
  /**
   * Field resolution as the matcher compiles it (a processing pipeline's `fieldsFor`): it wins over
   * `fieldMap` when it answers, as in the matcher. A field it resolves to several paths is refused for now
   * (the matcher reads the first present one; not expressed as a query yet).
   */
  fieldPaths?: (sigmaField: string) => readonly string[];
  placeholders?: Record<string, string[]>;
  /** Mapping type of an event path (`keyword`, `wildcard`, `text`, `ip`, `long`, `date`…), if known. */
  fieldType?: (path: string) => string | undefined;
  /** Sub-field holding the whole value of an analysed text field (`message` → `message.wildcard`). */
  exactField?: Record<string, string>;
  /** Where Sigma keywords (values without a field) are searched; the matcher searches every string. */
  keywordFields?: string[];
}

export type EsTranslation = { ok: true; query: EsQuery; warnings: string[] } | { ok: false; reason: string };

export class NotTranslatable extends Error {}

const STRING_TYPES = new Set(['keyword', 'wildcard', 'constant_keyword', 'flattened']);
const NUMERIC_TYPES = new Set([
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
]);
const DATE_TYPES = new Set(['date', 'date_nanos']);
const TEXT_TYPES = new Set(['text', 'match_only_text']);

type Scalar = string | number | boolean | null;

interface Ctx {
  o: EsBackendOptions;
  warnings: Set<string>;
}

const and = (items: EsQuery[]): EsQuery =>
  items.length === 1 ? (items[0] as EsQuery) : { bool: { filter: items } };
const or = (items: EsQuery[]): EsQuery =>
  items.length === 1 ? (items[0] as EsQuery) : { bool: { should: items, minimum_should_match: 1 } };
const not = (item: EsQuery): EsQuery => ({ bool: { must_not: [item] } });
const exists = (field: string): EsQuery => ({ exists: { field } });

/** A Lucene wildcard pattern: `*` and `?` live, everything literal escaped. */
function wildcardValue(parts: Part[]): string {
  return parts
    .map((p) => {
      if (p.k === 'lit') return p.s.replace(/[\\*?]/g, (m) => '\\' + m);
      if (p.k === 'star') return '*';
      if (p.k === 'one') return '?';
      throw new NotTranslatable('internal: class part in a wildcard');
    })
    .join('');
}

/** The same pattern as a Lucene regular expression, for character classes (from `|windash`). */
function regexValue(parts: Part[]): string {
  return parts
    .map((p) => {
      switch (p.k) {
        case 'lit':
          return [...p.s].map((c) => (/[.?+*|{}[\]()\\#@&<>~"]/.test(c) ? '\\' + c : c)).join('');
        case 'star':
          return '.*';
        case 'one':
          return '.';
        case 'class':
          return '[' + [...p.chars].map((c) => (/[\]\\^\-#@&<>~"]/.test(c) ? '\\' + c : c)).join('') + ']';
        case 'ph':
          throw new NotTranslatable(`placeholder %${p.name}% has no values configured`);
      }
    })
    .join('');
}

interface FieldInfo {
  /** The field queried (possibly an exact sub-field). */
  field: string;
  kind: 'string' | 'ip' | 'number' | 'date' | 'boolean';
}

/** The event paths a Sigma field reads, as the matcher's `fieldPaths`: the resolver, else fieldMap. */
function fieldPathsOf(sigmaField: string, c: Ctx): readonly string[] {
  const resolved = c.o.fieldPaths?.(sigmaField) ?? [];
  return resolved.length > 0 ? resolved : [c.o.fieldMap?.[sigmaField] ?? sigmaField];
}

function resolveField(path: string, c: Ctx): FieldInfo {
  const type = c.o.fieldType?.(path);
  if (type !== undefined && TEXT_TYPES.has(type)) {
    const exact = c.o.exactField?.[path];
    if (!exact) throw new NotTranslatable(`field ${path} is analysed text without an exact-value sub-field`);
    return { field: exact, kind: 'string' };
  }
  if (type === undefined || STRING_TYPES.has(type)) return { field: path, kind: 'string' };
  if (type === 'ip') return { field: path, kind: 'ip' };
  if (NUMERIC_TYPES.has(type)) return { field: path, kind: 'number' };
  if (DATE_TYPES.has(type)) return { field: path, kind: 'date' };
  if (type === 'boolean') return { field: path, kind: 'boolean' };
  throw new NotTranslatable(
    `field ${path} has mapping type ${type}, which Sigma values cannot be compared with`,
  );
}

interface Mods {
  type: 'eq' | 're' | 'cidr' | 'exists' | 'compare';
  op?: 'lt' | 'lte' | 'gt' | 'gte';
  all: boolean;
  cased: boolean;
  neq: boolean;
  expand: boolean;
  re: { i: boolean; m: boolean; s: boolean };
  pipeline: Array<
    | { kind: 'wrap'; at: 'contains' | 'startswith' | 'endswith' }
    | { kind: 'transform'; apply: (v: SValue, ctx: TransformCtx) => SValue[] }
  >;
}

function parseMods(names: string[]): Mods {
  const m: Mods = {
    type: 'eq',
    all: false,
    cased: false,
    neq: false,
    expand: false,
    re: { i: false, m: false, s: false },
    pipeline: [],
  };
  for (const name of names) {
    const def = MODIFIERS.get(name);
    if (!def) throw new SigmaError('UNKNOWN_MODIFIER', `unknown modifier |${name}`);
    switch (def.kind) {
      case 'wrap':
      case 'transform':
        m.pipeline.push(def);
        break;
      case 'expand':
        m.expand = true;
        break;
      case 'type':
        if (def.type === 'fieldref')
          throw new NotTranslatable(
            '|fieldref compares two fields of one document, which needs a script query',
          );
        m.type = def.type;
        break;
      case 'compare':
        m.type = 'compare';
        m.op = def.op;
        break;
      case 'timepart':
        throw new NotTranslatable(`|${name} needs a script query over the date`);
      case 'flag':
        m[def.flag] = true;
        break;
      case 'reflag':
        m.re[def.flag] = true;
        break;
    }
  }
  return m;
}

function expandValue(raw: string, c: Ctx): Part[][] {
  let variants: Part[][] = [[]];
  for (const p of parseSigmaString(raw, true)) {
    if (p.k !== 'ph') {
      for (const v of variants) v.push(p);
      continue;
    }
    const values = c.o.placeholders?.[p.name];
    if (!values) throw new NotTranslatable(`placeholder %${p.name}% has no values configured`);
    variants = variants.flatMap((v) => values.map((val) => [...v, ...parseSigmaString(String(val))]));
  }
  return variants;
}

/** The value's variants after expand, transformations and wraps, as Sigma patterns. */
function patterns(raw: Exclude<Scalar, null>, m: Mods, keyword: boolean, c: Ctx): Part[][] {
  const tctx: TransformCtx = { placeholders: c.o.placeholders, line: undefined };
  let vals: SValue[] =
    typeof raw === 'string'
      ? m.expand
        ? expandValue(raw, c).map((parts) => ({ parts }))
        : [{ parts: parseSigmaString(raw) }]
      : [{ parts: [lit(String(raw))] }];
  for (const step of m.pipeline) {
    if (step.kind === 'wrap') vals = vals.map((v) => wrap(v, step.at));
    else vals = vals.flatMap((v) => step.apply(v, tctx));
  }
  if (keyword) vals = vals.map((v) => ({ parts: [star(), ...v.parts, star()] }));
  return vals.map((v) => normalize(v.parts));
}

function stringMatch(field: string, parts: Part[], cased: boolean): EsQuery {
  const ci = cased ? {} : { case_insensitive: true };
  if (parts.every((p) => p.k === 'lit')) {
    return { term: { [field]: { value: parts.map((p) => (p.k === 'lit' ? p.s : '')).join(''), ...ci } } };
  }
  if (parts.length === 1 && parts[0]?.k === 'star') return exists(field);
  if (parts.some((p) => p.k === 'class')) return { regexp: { [field]: { value: regexValue(parts), ...ci } } };
  return { wildcard: { [field]: { value: wildcardValue(parts), ...ci } } };
}

function valueQuery(f: FieldInfo, parts: Part[], m: Mods): EsQuery {
  const literal = parts.every((p) => p.k === 'lit')
    ? parts.map((p) => (p.k === 'lit' ? p.s : '')).join('')
    : undefined;
  switch (f.kind) {
    case 'string':
      return stringMatch(f.field, parts, m.cased);
    case 'ip':
      if (literal === undefined)
        throw new NotTranslatable(`wildcards on ip field ${f.field} (use |cidr for networks)`);
      return { term: { [f.field]: literal } };
    case 'number':
      if (literal === undefined) throw new NotTranslatable(`wildcards on numeric field ${f.field}`);
      // The matcher compares text: "22" equals 22, "abc" equals nothing.
      return /^-?\d+(\.\d+)?$/.test(literal.trim())
        ? { term: { [f.field]: Number(literal) } }
        : { match_none: {} };
    case 'boolean':
      if (literal === undefined || !/^(true|false)$/i.test(literal)) return { match_none: {} };
      return { term: { [f.field]: literal.toLowerCase() === 'true' } };
    case 'date':
      throw new NotTranslatable(`string comparison on date field ${f.field} (use |lt/|gt)`);
  }
}

function entryQuery(key: string, value: unknown, c: Ctx, forceKeyword = false): EsQuery {
  const [rawField = '', ...modNames] = key.split('|');
  const keyword = forceKeyword || rawField === '';
  const m = parseMods(modNames);
  const list = (Array.isArray(value) ? value : [value]) as Scalar[];
  if (list.some((v) => v !== null && typeof v === 'object'))
    throw new SigmaError('INVALID_DETECTION', `${key}: values must be scalars`);
  const matchNull = list.some((v) => v === null);
  const values = list.filter((v): v is Exclude<Scalar, null> => v !== null);

  if (keyword) {
    const fields = c.o.keywordFields ?? [];
    if (fields.length === 0) throw new NotTranslatable('keywords need at least one keyword field');
    if (m.type !== 'eq') throw new NotTranslatable(`keywords with |${m.type}`);
    c.warnings.add(
      `keywords are searched in ${fields.join(', ')}; the streaming matcher searches every string field`,
    );
    const per = values.map((v) =>
      or(patterns(v, m, true, c).map((p) => or(fields.map((f) => stringMatch(f, p, m.cased))))),
    );
    return m.all ? and(per) : or(per);
  }

  const paths = fieldPathsOf(rawField, c);
  const one = (path: string): EsQuery => fieldQuery(resolveField(path, c), m, values, matchNull, c);
  if (paths.length === 1) return one(paths[0] as string);
  // The matcher reads the first of the paths that is present (a field mapped to alternatives): the value
  // is path i's when the earlier ones are missing and path i is there, or the last path's (present or
  // not) when all earlier ones are missing. Exact for every form, `null`, |exists and |neq included.
  return or(
    paths.map((p, i) =>
      and([
        ...paths.slice(0, i).map((q) => not(exists(q))),
        ...(i < paths.length - 1 ? [exists(p)] : []),
        one(p),
      ]),
    ),
  );
}

function fieldQuery(
  f: FieldInfo,
  m: Mods,
  values: Array<Exclude<Scalar, null>>,
  matchNull: boolean,
  c: Ctx,
): EsQuery {
  let base: EsQuery;
  switch (m.type) {
    case 'exists': {
      const want = String(values[0]).toLowerCase();
      if (values.length !== 1 || (want !== 'true' && want !== 'false'))
        throw new SigmaError('INVALID_MODIFIER_VALUE', '|exists takes a single true/false value');
      return want === 'true' ? exists(f.field) : not(exists(f.field));
    }
    case 'eq': {
      const per = values.map((v) => or(patterns(v, m, false, c).map((p) => valueQuery(f, p, m))));
      base = values.length === 0 ? { match_none: {} } : m.all ? and(per) : or(per);
      break;
    }
    case 're': {
      if (f.kind !== 'string') throw new NotTranslatable(`|re on ${f.kind} field ${f.field}`);
      const per = values.map((v) => {
        try {
          const r = toLuceneRegex(String(v), m.re);
          return {
            regexp: {
              [f.field]: { value: r.value, ...(r.caseInsensitive ? { case_insensitive: true } : {}) },
            },
          };
        } catch (e) {
          if (e instanceof RegexNotTranslatable)
            throw new NotTranslatable(`regex /${String(v)}/: ${e.message}`);
          throw e;
        }
      });
      base = m.all ? and(per) : or(per);
      break;
    }
    case 'cidr': {
      if (f.kind !== 'ip') throw new NotTranslatable(`|cidr on ${f.field}, which is not mapped as ip`);
      const per = values.map((v) => ({ term: { [f.field]: String(v) } }));
      base = m.all ? and(per) : or(per);
      break;
    }
    case 'compare': {
      if (f.kind !== 'number' && f.kind !== 'date')
        throw new NotTranslatable(`|${m.op} on ${f.field}, which is not mapped as a number or date`);
      const per = values.map((v) => {
        const n = Number(v);
        if (!Number.isFinite(n))
          throw new SigmaError('INVALID_MODIFIER_VALUE', `|${m.op} needs a number, got "${String(v)}"`);
        return { range: { [f.field]: { [m.op as string]: n } } };
      });
      base = m.all ? and(per) : or(per);
      break;
    }
  }
  // Same list semantics as the matcher: null matches a missing field; |neq holds on a present field only.
  const withNull = matchNull
    ? values.length > 0
      ? or([base, not(exists(f.field))])
      : not(exists(f.field))
    : base;
  return m.neq ? { bool: { filter: [exists(f.field)], must_not: [withNull] } } : withNull;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function identifierQuery(name: string, def: unknown, c: Ctx): EsQuery {
  const mapQuery = (m: Record<string, unknown>): EsQuery => {
    const keys = Object.keys(m);
    if (keys.length === 0)
      throw new SigmaError('INVALID_DETECTION', `search identifier ${name} is an empty map`);
    return and(keys.map((k) => entryQuery(k, m[k], c)));
  };
  if (isMap(def)) return mapQuery(def);
  if (Array.isArray(def)) {
    const maps = def.filter(isMap).map(mapQuery);
    const keywords = def.filter((d) => !isMap(d));
    if (keywords.length > 0) maps.push(entryQuery('', keywords, c, true));
    if (maps.length === 0)
      throw new SigmaError('INVALID_DETECTION', `search identifier ${name} is an empty list`);
    return or(maps);
  }
  if (def === null || def === undefined)
    throw new SigmaError('INVALID_DETECTION', `search identifier ${name} has no value`);
  return entryQuery('', def, c, true);
}

function conditionQuery(node: CondNode, idents: Map<string, () => EsQuery>): EsQuery {
  switch (node.t) {
    case 'id': {
      const q = idents.get(node.name);
      if (!q)
        throw new SigmaError('UNKNOWN_IDENTIFIER', `condition references unknown identifier "${node.name}"`);
      return q();
    }
    case 'not':
      return not(conditionQuery(node.item, idents));
    case 'and':
      return and(node.items.map((n) => conditionQuery(n, idents)));
    case 'or':
      return or(node.items.map((n) => conditionQuery(n, idents)));
    case 'of': {
      const names = [...idents.keys()];
      const selected =
        node.pattern === 'them'
          ? names.filter((n) => !n.startsWith('_'))
          : names.filter(identifierPatternMatcher(node.pattern));
      if (selected.length === 0)
        throw new SigmaError('UNKNOWN_IDENTIFIER', `"${node.pattern}" matches no search identifier`);
      const items = selected.map((n) => (idents.get(n) as () => EsQuery)());
      if (node.quant === 'all') return and(items);
      if (node.quant === 1) return or(items);
      return { bool: { should: items, minimum_should_match: node.quant } };
    }
  }
}

/** Translates a `detection` section; throws NotTranslatable or SigmaError. */
export function detectionToQuery(
  detection: Record<string, unknown>,
  o: EsBackendOptions = {},
): { query: EsQuery; warnings: string[] } {
  const c: Ctx = { o, warnings: new Set() };
  const idents = new Map<string, () => EsQuery>();
  const memo = new Map<string, EsQuery>();
  for (const [name, def] of Object.entries(detection)) {
    if (name === 'condition' || name === 'timeframe') continue;
    // Lazily, so an identifier the condition never uses cannot make the rule untranslatable.
    idents.set(name, () => {
      let q = memo.get(name);
      if (!q) memo.set(name, (q = identifierQuery(name, def, c)));
      return q;
    });
  }
  const cond = detection['condition'];
  const conds = Array.isArray(cond) ? cond : [cond];
  if (cond === undefined || cond === null || conds.length === 0)
    throw new SigmaError('INVALID_DETECTION', 'detection has no condition');
  const queries = conds.map((s) => {
    if (typeof s !== 'string')
      throw new SigmaError('INVALID_DETECTION', 'condition must be a string or a list of strings');
    return conditionQuery(parseCondition(s), idents);
  });
  return { query: or(queries), warnings: [...c.warnings] };
}

/** A rule's detection as a query, or the reason it cannot be one. Never throws for a loaded rule. */
export function ruleToElasticsearch(rule: SigmaRule, o: EsBackendOptions = {}): EsTranslation {
  if (rule.kind === 'correlation')
    return {
      ok: false,
      reason: 'correlation rules aggregate over time windows; run them through the detector',
    };
  if (rule.kind === 'filter')
    return { ok: false, reason: 'filter documents apply to other rules, not on their own' };
  if (!rule.support.supported) return { ok: false, reason: rule.support.reason ?? 'rule not supported' };
  try {
    const { query, warnings } = detectionToQuery(rule.detection, o);
    return { ok: true, query, warnings };
  } catch (e) {
    if (e instanceof NotTranslatable || e instanceof SigmaError) return { ok: false, reason: e.message };
    throw e;
  }
}
