import { type CondNode, identifierPatternMatcher, parseCondition } from './condition';
import { SigmaError } from './errors';
import { type Getter, type MatchCtx, allStrings, lowerCached, makeMultiGetter, scalarString } from './event';
import { inNetwork, parseCidr, parseIp } from './modifiers/cidr';
import { type CompareOp, compare, toNumber } from './modifiers/numeric';
import { type RegexFlags, compileRegex } from './modifiers/regex';
import { MODIFIERS, type ModifierDef, wrap } from './modifiers/registry';
import { type TimePart, timePart } from './modifiers/timepart';
import { type SValue, type TransformCtx } from './modifiers/value';
import { type Part, compilePattern, lit, parseSigmaString, star } from './pattern';
import { type CompileOptions, type FieldRead } from './model';
import { regexAtoms, regexMinLength } from './prefilter/regex-literals';
import { LITERAL_SET_MIN, compileLiteralSet } from './literal-set';
import {
  ANY_VALUE,
  type Atom,
  type Requirement,
  patternAtom,
  reqAnd,
  reqOr,
  reqSecond,
} from './prefilter/atoms';

export type { Requirement } from './prefilter/atoms';
export type { FieldRead } from './model';

export interface CompiledDetection {
  test(ctx: MatchCtx): boolean;
  readonly req: Requirement;
  /** Another necessary requirement, independent of `req` (from a different AND operand), or none. */
  readonly req2?: Requirement;
  /**
   * A path whose absence alone makes `test` true (`field: null`, `exists: false`, or a union holding
   * one): the negation of such a detection requires the field, which gives `not filter` rules an atom.
   */
  readonly absent?: string | undefined;
  /** Adds the event paths/values of the parts that made `test` true. Only called after a match. */
  collect(ctx: MatchCtx, out: Record<string, unknown>): void;
  /**
   * Every field `test` reads: its verdict is a function of these fields' values alone. Null when it
   * searches every value of the event (keywords); undefined when not known.
   */
  readonly reads?: readonly FieldRead[] | null;
  /**
   * The verdict as far as the categorical fields (and whether the others are present) decide it: NO, YES,
   * or UNKNOWN when it depends on what a present 'wide' field holds. Undefined when not known.
   */
  readonly partial?: ((ctx: MatchCtx) => Tri) | undefined;
  /**
   * Necessary wherever `partial` says UNKNOWN: on an event that matches although its categorical fields
   * left the verdict open, an atom of this holds (one of the wide fields the verdict waited on). Empty when
   * `partial` is never UNKNOWN; undefined when not known (under a negation, or a wide field without one).
   */
  readonly wreq?: Requirement | undefined;
}

/**
 * `wreq` of an AND, OR or at-least-N: the union of the operands'. UNKNOWN means no operand decided the
 * verdict and one is UNKNOWN; a true node then has a true operand that is UNKNOWN (an operand that says
 * YES or NO is exact), and that operand's own `wreq` holds.
 */
function wreqUnion(xs: readonly { wreq?: Requirement | undefined }[]): Requirement | undefined {
  const rs: Requirement[] = [];
  for (const x of xs) {
    if (x.wreq === undefined || x.wreq === null) return undefined;
    rs.push(x.wreq);
  }
  return reqOr(rs);
}

/** Three-valued verdicts of `partial`. */
export const NO = 0;
export const YES = 1;
export const UNKNOWN = 2;
export type Tri = typeof NO | typeof YES | typeof UNKNOWN;

type Partial = ((ctx: MatchCtx) => Tri) | undefined;

function partialsOf(xs: readonly { partial?: Partial }[]): ((ctx: MatchCtx) => Tri)[] | undefined {
  const out: ((ctx: MatchCtx) => Tri)[] = [];
  for (const x of xs) {
    if (x.partial === undefined) return undefined;
    out.push(x.partial);
  }
  return out;
}

function partialAnd(xs: readonly { partial?: Partial }[]): Partial {
  const ps = partialsOf(xs);
  if (!ps) return undefined;
  return (ctx) => {
    let r: Tri = YES;
    for (const p of ps) {
      const v = p(ctx);
      if (v === NO) return NO;
      if (v === UNKNOWN) r = UNKNOWN;
    }
    return r;
  };
}

function partialOr(xs: readonly { partial?: Partial }[]): Partial {
  const ps = partialsOf(xs);
  if (!ps) return undefined;
  return (ctx) => {
    let r: Tri = NO;
    for (const p of ps) {
      const v = p(ctx);
      if (v === YES) return YES;
      if (v === UNKNOWN) r = UNKNOWN;
    }
    return r;
  };
}

function partialAtLeast(xs: readonly { partial?: Partial }[], need: number): Partial {
  const ps = partialsOf(xs);
  if (!ps) return undefined;
  return (ctx) => {
    let yes = 0;
    let unknown = 0;
    for (const p of ps) {
      const v = p(ctx);
      if (v === YES) yes++;
      else if (v === UNKNOWN) unknown++;
    }
    return yes >= need ? YES : yes + unknown < need ? NO : UNKNOWN;
  };
}

type Scalar = string | number | boolean | bigint | null;

interface Entry {
  /** Event path, or null for keyword entries. */
  path: string | null;
  req: Requirement;
  absent: string | undefined;
  get: Getter;
  test: (v: unknown, ctx: MatchCtx) => boolean;
  reads: FieldRead[] | null;
  partial: (ctx: MatchCtx) => Tri;
  wreq: Requirement;
}

type Group<T> = (t: T, ctx: MatchCtx) => boolean;

const KEYWORD_LABEL = 'keywords';
const lower = (s: string): string => s.toLowerCase();
const same = (s: string): string => s;

/**
 * Shared list semantics for every comparison type: values are OR-ed (AND with `all`), a list-valued event
 * field matches when any element does, `null` in the rule matches an explicit null and a missing field,
 * and `neq` inverts the comparison for a field that is present.
 */
function combine<T>(
  prep: (x: unknown, ctx: MatchCtx) => T | undefined,
  groups: Group<T>[],
  all: boolean,
  neq: boolean,
  matchNull: boolean,
): (v: unknown, ctx: MatchCtx) => boolean {
  const one = (x: unknown, ctx: MatchCtx): boolean => {
    const t = prep(x, ctx);
    if (t === undefined) return false;
    if (all) {
      for (const g of groups) if (!g(t, ctx)) return false;
      return groups.length > 0;
    }
    for (const g of groups) if (g(t, ctx)) return true;
    return false;
  };
  const base = (v: unknown, ctx: MatchCtx): boolean => {
    if (v === undefined || v === null) return matchNull;
    if (Array.isArray(v)) {
      if (all && groups.length > 1) {
        // Each value may be satisfied by a different element (and, for keywords, a different field).
        return groups.every((g) =>
          v.some((x) => {
            const t = prep(x, ctx);
            return t !== undefined && g(t, ctx);
          }),
        );
      }
      for (const x of v) if (one(x, ctx)) return true;
      return matchNull && v.length === 0;
    }
    return one(v, ctx);
  };
  if (!neq) return base;
  return (v, ctx) => v !== undefined && !base(v, ctx);
}

interface ParsedModifiers {
  type: 'eq' | 're' | 'cidr' | 'exists' | 'fieldref' | 'compare' | 'timepart';
  op?: CompareOp;
  part?: TimePart;
  all: boolean;
  cased: boolean;
  neq: boolean;
  expand: boolean;
  re: RegexFlags;
  pipeline: ModifierDef[];
}

function parseModifiers(mods: string[], line: number | undefined): ParsedModifiers {
  const pm: ParsedModifiers = {
    type: 'eq',
    all: false,
    cased: false,
    neq: false,
    expand: false,
    re: { i: false, m: false, s: false },
    pipeline: [],
  };
  const setType = (t: ParsedModifiers['type'], name: string): void => {
    if (pm.type !== 'eq') {
      throw new SigmaError(
        'MODIFIER_CONFLICT',
        `modifier |${name} cannot be combined with |${pm.type}`,
        line,
      );
    }
    pm.type = t;
  };
  for (const name of mods) {
    const def = MODIFIERS.get(name);
    if (!def) throw new SigmaError('UNKNOWN_MODIFIER', `unknown modifier |${name}`, line);
    switch (def.kind) {
      case 'transform':
      case 'wrap':
        pm.pipeline.push(def);
        break;
      case 'expand':
        pm.expand = true;
        break;
      case 'type':
        setType(def.type, name);
        break;
      case 'compare':
        if (pm.type === 'timepart' && pm.op === undefined) pm.op = def.op;
        else {
          setType('compare', name);
          pm.op = def.op;
        }
        break;
      case 'timepart':
        setType('timepart', name);
        pm.part = def.part;
        break;
      case 'flag':
        pm[def.flag] = true;
        break;
      case 'reflag':
        if (pm.type !== 're')
          throw new SigmaError('MODIFIER_CONFLICT', `|${name} is only valid after |re`, line);
        pm.re[def.flag] = true;
        break;
    }
  }
  const transforms = pm.pipeline.filter((d) => d.kind === 'transform').length;
  if (pm.type !== 'eq' && transforms > 0) {
    throw new SigmaError(
      'MODIFIER_CONFLICT',
      `value transformations cannot be combined with |${pm.type}`,
      line,
    );
  }
  if (pm.type !== 'eq' && pm.type !== 'fieldref' && pm.pipeline.length > 0) {
    throw new SigmaError(
      'MODIFIER_CONFLICT',
      `contains/startswith/endswith cannot be combined with |${pm.type}`,
      line,
    );
  }
  if (pm.expand && pm.type !== 'eq') {
    throw new SigmaError('MODIFIER_CONFLICT', `|expand cannot be combined with |${pm.type}`, line);
  }
  return pm;
}

function expandPlaceholders(parts: Part[], ctx: TransformCtx): Part[][] {
  let variants: Part[][] = [[]];
  for (const p of parts) {
    if (p.k !== 'ph') {
      for (const v of variants) v.push(p);
      continue;
    }
    const values = ctx.placeholders?.[p.name];
    if (!values) {
      throw new SigmaError(
        'UNRESOLVED_PLACEHOLDER',
        `placeholder %${p.name}% has no values configured`,
        ctx.line,
      );
    }
    const next: Part[][] = [];
    for (const v of variants) for (const val of values) next.push([...v, ...parseSigmaString(String(val))]);
    variants = next;
  }
  return variants;
}

function initialValues(raw: Scalar, pm: ParsedModifiers, ctx: TransformCtx): SValue[] {
  if (typeof raw === 'string') {
    const parts = parseSigmaString(raw, pm.expand);
    return pm.expand ? expandPlaceholders(parts, ctx).map((p) => ({ parts: p })) : [{ parts }];
  }
  return [{ parts: [lit(scalarString(raw) ?? '')] }];
}

interface EqCompiled {
  groups: Group<string>[];
  /** Per rule value: the atoms of its variants (any one may hold), or null when one variant has none. */
  atoms: (Atom[] | null)[];
}

function foldedScalar(x: unknown, ctx: MatchCtx): string | undefined {
  const s = scalarString(x);
  return s === undefined ? undefined : lowerCached(ctx, s);
}

function compileEq(
  raws: Scalar[],
  pm: ParsedModifiers,
  ctx: TransformCtx,
  keyword: boolean,
  atomPath: string,
): EqCompiled {
  const fold = pm.cased ? same : lower;
  const atoms: (Atom[] | null)[] = [];
  const variants = raws.map((raw): Part[][] => {
    let vals = initialValues(raw, pm, ctx);
    for (const step of pm.pipeline) {
      if (step.kind === 'wrap') vals = vals.map((v) => wrap(v, step.at));
      else if (step.kind === 'transform') vals = vals.flatMap((v) => step.apply(v, ctx));
    }
    // Keywords are searched anywhere in a value: implicitly `*keyword*`.
    if (keyword) vals = vals.map((v) => ({ parts: [star(), ...v.parts, star()] }));
    const va = vals.map((v) => patternAtom(v.parts, pm.cased, atomPath));
    atoms.push(va.length > 0 && va.every((a) => a !== null) ? va : null);
    return vals.map((v) => v.parts);
  });
  // Without `all` the values are alternatives, so a long list can become one matcher.
  const flat = variants.flat();
  if (!pm.all && flat.length >= LITERAL_SET_MIN) {
    const t = compileLiteralSet(flat, fold);
    return { groups: [(s: string) => t(s)], atoms };
  }
  const groups = variants.map((vs): Group<string> => {
    const tests = vs.map((parts) => compilePattern(parts, fold));
    if (tests.length === 1) {
      const t = tests[0] as (s: string) => boolean;
      return (s: string) => t(s);
    }
    return (s: string) => {
      for (const t of tests) if (t(s)) return true;
      return false;
    };
  });
  return { groups, atoms };
}

/**
 * What an eq entry needs from the event: with `all` every value must match, so any one value's atoms
 * suffice; otherwise one of the values, so all of them.
 */
function eqRequirement(atoms: (Atom[] | null)[], all: boolean): Requirement {
  if (atoms.length === 0) return null;
  return all ? reqAnd(atoms) : reqOr(atoms);
}

function asScalarList(value: unknown, where: string, line: number | undefined): Scalar[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => {
    if (v === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof v)) return v as Scalar;
    throw new SigmaError(
      'INVALID_DETECTION',
      `${where}: values must be scalars, found ${JSON.stringify(v)}`,
      line,
    );
  });
}

/** The event paths a rule field reads: the pipeline's resolver, else `fieldMap`, else the name itself. */
export function fieldPaths(opts: CompileOptions, field: string): readonly string[] {
  if (opts.fields) {
    const p = opts.fields(field);
    if (p.length > 0) return p;
  }
  return [opts.fieldMap?.[field] ?? field];
}

/** A field read from alternative paths may meet its literals under any of them. */
function widenRequirement(req: Requirement, paths: readonly string[]): Requirement {
  if (!req || paths.length < 2) return req;
  const first = paths[0] as string;
  const out: Atom[] = [];
  for (const a of req) {
    if (a.path !== first) out.push(a);
    else for (const p of paths) out.push({ ...a, path: p });
  }
  return out;
}

function compileEntry(
  key: string,
  value: unknown,
  opts: CompileOptions,
  line: number | undefined,
  forceKeyword = false,
): Entry {
  const [rawField = '', ...mods] = key.split('|');
  const keyword = forceKeyword || rawField === '';
  const pm = parseModifiers(mods, line);
  const raws = asScalarList(value, keyword ? 'keywords' : `field ${rawField}`, line);
  const paths = keyword ? null : fieldPaths(opts, rawField);
  const path = paths === null ? null : (paths[0] as string);
  const get: Getter = paths === null ? allStrings : makeMultiGetter(paths);
  const tctx: TransformCtx = { placeholders: opts.placeholders, line };
  const matchNull = raws.some((r) => r === null);
  const values = raws.filter((r): r is Exclude<Scalar, null> => r !== null);
  const fold = pm.cased ? same : lower;
  let literalReq: Requirement = null;

  const test = ((): Entry['test'] => {
    switch (pm.type) {
      case 'eq': {
        const { groups, atoms } = compileEq(values, pm, tctx, keyword, path ?? ANY_VALUE);
        if (!pm.neq && !matchNull) literalReq = eqRequirement(atoms, pm.all);
        return combine(pm.cased ? scalarString : foldedScalar, groups, pm.all, pm.neq, matchNull);
      }
      case 'exists': {
        const v = values[0];
        const want = typeof v === 'boolean' ? v : typeof v === 'string' ? v.toLowerCase() : undefined;
        if (values.length !== 1 || (want !== true && want !== false && want !== 'true' && want !== 'false')) {
          throw new SigmaError('INVALID_MODIFIER_VALUE', '|exists takes a single true/false value', line);
        }
        const present = want === true || want === 'true';
        return (v2) => (v2 !== undefined) === present;
      }
      case 're': {
        if (!pm.neq && !matchNull) {
          const atoms = values.map((r) => regexAtoms(scalarString(r) ?? '', path ?? ANY_VALUE, pm.re.i));
          literalReq = atoms.length > 0 ? (pm.all ? reqAnd(atoms) : reqOr(atoms)) : null;
        }
        const groups = values.map((r): Group<string> => {
          const src = scalarString(r) ?? '';
          const re = compileRegex(src, pm.re, line);
          // The regex engine costs microseconds per value; a missing mandatory literal settles it sooner.
          const need = regexAtoms(src, '', pm.re.i)?.map((a) => (a.k === 'present' ? '' : a.text));
          const minLen = regexMinLength(src);
          if (!need) return (s) => s.length >= minLen && re(s);
          return (s, ctx) => {
            if (s.length < minLen) return false;
            const l = lowerCached(ctx, s);
            for (const t of need) if (l.includes(t)) return re(s);
            return false;
          };
        });
        return combine(scalarString, groups, pm.all, pm.neq, matchNull);
      }
      case 'cidr': {
        const groups = values.map((r) => {
          const net = parseCidr(scalarString(r) ?? '');
          if (!net) throw new SigmaError('INVALID_CIDR', `invalid CIDR network "${String(r)}"`, line);
          return (ip: Uint8Array) => inNetwork(ip, net);
        });
        const prep = (x: unknown): Uint8Array | undefined => {
          const s = scalarString(x);
          return s === undefined ? undefined : (parseIp(s) ?? undefined);
        };
        return combine(prep, groups, pm.all, pm.neq, matchNull);
      }
      case 'compare':
      case 'timepart': {
        const groups = values.map((r) => {
          const n = toNumber(r);
          if (n === undefined) {
            throw new SigmaError(
              'INVALID_MODIFIER_VALUE',
              `|${pm.op ?? pm.part} needs a number, got "${String(r)}"`,
              line,
            );
          }
          const op = pm.op;
          return op ? (x: number) => compare(op, x, n) : (x: number) => x === n;
        });
        const part = pm.part;
        const prep = part ? (x: unknown) => timePart(x, part) : toNumber;
        return combine(prep, groups, pm.all, pm.neq, matchNull);
      }
      case 'fieldref': {
        const mode = pm.pipeline.reduce<'eq' | 'contains' | 'startswith' | 'endswith'>(
          (m, d) => (d.kind === 'wrap' ? (m === 'eq' || m === d.at ? d.at : 'contains') : m),
          'eq',
        );
        const groups = values.map((r) => {
          const other = String(r);
          const getOther = makeMultiGetter(fieldPaths(opts, other));
          const cmp = (a: string, b: string): boolean =>
            mode === 'eq'
              ? a === b
              : mode === 'contains'
                ? a.includes(b)
                : mode === 'startswith'
                  ? a.startsWith(b)
                  : a.endsWith(b);
          return (s: string, ctx: MatchCtx): boolean => {
            const o = getOther(ctx);
            const list = Array.isArray(o) ? o : [o];
            for (const x of list) {
              const os = scalarString(x);
              if (os !== undefined && cmp(s, fold(os))) return true;
            }
            return false;
          };
        });
        const prep = (x: unknown): string | undefined => {
          const s = scalarString(x);
          return s === undefined ? undefined : fold(s);
        };
        return combine(prep, groups, pm.all, pm.neq, matchNull);
      }
    }
  })();
  // Without literals, a field entry still cannot hold on an event that lacks the field (neq and
  // `exists: true` included); `null` values and `exists: false` hold exactly when it is missing.
  const existsFalse =
    pm.type === 'exists' && !(values[0] === true || String(values[0]).toLowerCase() === 'true');
  const present: Requirement = path !== null && !matchNull && !existsFalse ? [{ k: 'present', path }] : null;
  const req = widenRequirement(literalReq ?? present, paths ?? []);
  // Absence of a field read from several paths is absence from all of them: no single path to require.
  const absent =
    path !== null &&
    (paths?.length ?? 0) === 1 &&
    ((matchNull && !pm.neq && pm.type !== 'exists') || existsFalse)
      ? path
      : undefined;
  const reads = paths === null ? null : fieldReads(paths, pm, values, opts);
  // A missing field decides even a wide comparison; a present one only the comparison itself can.
  const wide = reads === null || reads.some((r) => r.mode === 'wide');
  const partial = (ctx: MatchCtx): Tri => {
    if (reads === null) return UNKNOWN;
    const v = get(ctx);
    if (wide && v !== undefined) return UNKNOWN;
    return test(v, ctx) ? YES : NO;
  };
  // Only a wide entry can leave `partial` open, and it holds only where its own requirement does.
  return { path, get, test, req, absent, reads, partial, wreq: wide ? req : [] };
}

/**
 * Values compared for equality with a few fixed ones (at most a trailing wildcard, like `flow.*`) repeat
 * across events; anything searched inside a value, parsed or compared by order does not.
 */
function fieldReads(
  paths: readonly string[],
  pm: ParsedModifiers,
  values: readonly Exclude<Scalar, null>[],
  opts: CompileOptions,
): FieldRead[] {
  const categorical =
    pm.type === 'eq' &&
    pm.pipeline.length === 0 &&
    !pm.expand &&
    values.every((v) => {
      if (typeof v !== 'string') return true;
      const parts = parseSigmaString(v);
      return parts.every((p, i) => p.k === 'lit' || (p.k === 'star' && i === parts.length - 1));
    });
  const mode = pm.type === 'exists' ? 'presence' : categorical ? 'value' : 'wide';
  const out: FieldRead[] = [{ paths, mode }];
  if (pm.type === 'fieldref') {
    for (const v of values) out.push({ paths: fieldPaths(opts, String(v)), mode: 'wide' });
  }
  return out;
}

/** The union of what several detections read; null as soon as one of them reads every value. */
function readsOf(xs: readonly { reads?: readonly FieldRead[] | null }[]): FieldRead[] | null | undefined {
  const out: FieldRead[] = [];
  for (const x of xs) {
    if (x.reads === undefined) return undefined;
    if (x.reads === null) return null;
    out.push(...x.reads);
  }
  return out;
}

/** AND is true on a missing field only if every part is, for that same field. */
function absentAnd(xs: readonly { absent?: string | undefined }[]): string | undefined {
  const first = xs[0]?.absent;
  return first !== undefined && xs.every((x) => x.absent === first) ? first : undefined;
}

/** OR is true on a missing field as soon as one part is. */
function absentOr(xs: readonly { absent?: string | undefined }[]): string | undefined {
  for (const x of xs) if (x.absent !== undefined) return x.absent;
  return undefined;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function compileMap(
  def: Record<string, unknown>,
  name: string,
  opts: CompileOptions,
  line: number | undefined,
): CompiledDetection {
  const keys = Object.keys(def);
  if (keys.length === 0)
    throw new SigmaError('INVALID_DETECTION', `search identifier ${name} is an empty map`, line);
  const entries = keys.map((k) => compileEntry(k, def[k], opts, line));
  return {
    req: reqAnd(entries.map((e) => e.req)),
    req2: reqSecond(entries.map((e) => e.req)),
    absent: absentAnd(entries),
    reads: readsOf(entries),
    partial: partialAnd(entries),
    wreq: wreqUnion(entries),
    test(ctx) {
      for (const e of entries) if (!e.test(e.get(ctx), ctx)) return false;
      return true;
    },
    collect(ctx, out) {
      for (const e of entries) {
        const v = e.get(ctx);
        if (e.path !== null) out[e.path] = v;
        else out[KEYWORD_LABEL] = true;
      }
    },
  };
}

function compileIdentifier(
  name: string,
  def: unknown,
  opts: CompileOptions,
  line: number | undefined,
): CompiledDetection {
  if (isMap(def)) return compileMap(def, name, opts, line);
  if (Array.isArray(def)) {
    const branches: CompiledDetection[] = [];
    const keywords: unknown[] = [];
    for (const item of def) {
      if (isMap(item)) branches.push(compileMap(item, name, opts, line));
      else keywords.push(item);
    }
    if (keywords.length > 0) {
      const e = compileEntry('', keywords, opts, line, true);
      branches.push({
        req: e.req,
        reads: null,
        partial: e.partial,
        wreq: e.wreq,
        test: (ctx) => e.test(e.get(ctx), ctx),
        collect: (_ctx, out) => {
          out[KEYWORD_LABEL] = true;
        },
      });
    }
    if (branches.length === 0)
      throw new SigmaError('INVALID_DETECTION', `search identifier ${name} is an empty list`, line);
    if (branches.length === 1) return branches[0] as CompiledDetection;
    return {
      req: reqOr(branches.map((b) => b.req)),
      req2: orSecond(branches),
      absent: absentOr(branches),
      reads: readsOf(branches),
      partial: partialOr(branches),
      wreq: wreqUnion(branches),
      test(ctx) {
        for (const b of branches) if (b.test(ctx)) return true;
        return false;
      },
      collect(ctx, out) {
        for (const b of branches) if (b.test(ctx)) return b.collect(ctx, out);
      },
    };
  }
  if (def === null || def === undefined) {
    throw new SigmaError('INVALID_DETECTION', `search identifier ${name} has no value`, line);
  }
  const e = compileEntry('', def, opts, line, true);
  return {
    req: e.req,
    reads: null,
    partial: e.partial,
    wreq: e.wreq,
    test: (ctx) => e.test(e.get(ctx), ctx),
    collect: (_ctx, out) => {
      out[KEYWORD_LABEL] = true;
    },
  };
}

/** Keys of `detection` that are not search identifiers. `timeframe` is the legacy 1.x aggregation window. */
const RESERVED = new Set(['condition', 'timeframe']);

function compileCondition(
  node: CondNode,
  idents: Map<string, CompiledDetection>,
  line: number | undefined,
): CompiledDetection {
  switch (node.t) {
    case 'id': {
      const d = idents.get(node.name);
      if (!d)
        throw new SigmaError(
          'UNKNOWN_IDENTIFIER',
          `condition references unknown identifier "${node.name}"`,
          line,
        );
      return d;
    }
    case 'not': {
      const inner = compileCondition(node.item, idents, line);
      const req: Requirement = inner.absent !== undefined ? [{ k: 'present', path: inner.absent }] : null;
      const ip = inner.partial;
      return {
        req,
        reads: inner.reads,
        partial:
          ip &&
          ((ctx) => {
            const v = ip(ctx);
            return v === UNKNOWN ? UNKNOWN : v === YES ? NO : YES;
          }),
        test: (ctx) => !inner.test(ctx),
        collect: () => undefined,
      };
    }
    case 'and':
    case 'or':
      return combineNodes(
        node.t,
        node.items.map((n) => compileCondition(n, idents, line)),
      );
    case 'of': {
      const names = [...idents.keys()];
      const selected =
        node.pattern === 'them'
          ? names.filter((n) => !n.startsWith('_'))
          : names.filter(identifierPatternMatcher(node.pattern));
      if (selected.length === 0) {
        throw new SigmaError('UNKNOWN_IDENTIFIER', `"${node.pattern}" matches no search identifier`, line);
      }
      const items = selected.map((n) => idents.get(n) as CompiledDetection);
      if (node.quant === 'all') return combineNodes('and', items);
      if (node.quant === 1) return combineNodes('or', items);
      const need = node.quant;
      return {
        req: reqOr(items.map((d) => d.req)),
        req2: orSecond(items),
        reads: readsOf(items),
        partial: partialAtLeast(items, need),
        wreq: wreqUnion(items),
        test(ctx) {
          let c = 0;
          for (const d of items) if (d.test(ctx) && ++c >= need) return true;
          return false;
        },
        collect(ctx, out) {
          for (const d of items) if (d.test(ctx)) d.collect(ctx, out);
        },
      };
    }
  }
}

function combineNodes(op: 'and' | 'or', items: CompiledDetection[]): CompiledDetection {
  if (items.length === 1) return items[0] as CompiledDetection;
  if (op === 'and') {
    // Every operand's requirements are necessary: the best two of all of them.
    const all = items.flatMap((d) => [d.req, d.req2 ?? null]);
    return {
      req: reqAnd(all),
      req2: reqSecond(all),
      absent: absentAnd(items),
      reads: readsOf(items),
      partial: partialAnd(items),
      wreq: wreqUnion(items),
      test(ctx) {
        for (const d of items) if (!d.test(ctx)) return false;
        return true;
      },
      collect(ctx, out) {
        for (const d of items) d.collect(ctx, out);
      },
    };
  }
  return {
    req: reqOr(items.map((d) => d.req)),
    req2: orSecond(items),
    absent: absentOr(items),
    reads: readsOf(items),
    partial: partialOr(items),
    wreq: wreqUnion(items),
    test(ctx) {
      for (const d of items) if (d.test(ctx)) return true;
      return false;
    },
    collect(ctx, out) {
      for (const d of items) if (d.test(ctx)) d.collect(ctx, out);
    },
  };
}

/** OR of operands that each carry a second requirement: one of those holds too (null if one lacks it). */
function orSecond(items: readonly CompiledDetection[]): Requirement {
  const r2 = items.map((d) => d.req2 ?? null);
  return r2.every((r) => r !== null) ? reqOr(r2) : null;
}

/** Compiles a `detection` section (or a filter's selection + condition) into one closure tree. */
export function compileDetection(
  detection: Record<string, unknown>,
  opts: CompileOptions,
  lines: Record<string, number> = {},
  fallbackLine?: number,
): CompiledDetection {
  const idents = new Map<string, CompiledDetection>();
  for (const [name, def] of Object.entries(detection)) {
    if (RESERVED.has(name)) continue;
    idents.set(name, compileIdentifier(name, def, opts, lines[name] ?? fallbackLine));
  }
  const condLine = lines['condition'] ?? fallbackLine;
  const cond = detection['condition'];
  const conds = Array.isArray(cond) ? cond : [cond];
  if (cond === undefined || cond === null || conds.length === 0) {
    throw new SigmaError('INVALID_DETECTION', 'detection has no condition', condLine);
  }
  const compiled = conds.map((c) => {
    if (typeof c !== 'string')
      throw new SigmaError('INVALID_DETECTION', 'condition must be a string or a list of strings', condLine);
    return compileCondition(parseCondition(c, condLine), idents, condLine);
  });
  return combineNodes('or', compiled);
}
