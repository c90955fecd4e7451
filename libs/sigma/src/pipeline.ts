import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { LineCounter, parseDocument } from 'yaml';
import { type CompiledDetection, NO, UNKNOWN, YES, compileDetection } from './compile';
import { type RuleError, SigmaError } from './errors';
import { ctxFor } from './event';
import { type FieldResolver, type LogsourcePredicate, type SigmaLogsource } from './model';
import { reqOr } from './prefilter/atoms';

/**
 * A processing pipeline as data (YAML under `rules/pipelines/`): which events each Sigma logsource selects
 * and how Sigma field names become event (ECS) paths. Shape: see PIPELINE_SCHEMA and rules/README.md.
 */
export interface PipelineSpec {
  name: string;
  description?: string;
  /** Sigma field → event path, or alternatives read in order (the first one present wins). */
  fieldmappings?: Record<string, string | string[]>;
  /** Paths tried for a field no mapping names; `{field}` stands for the Sigma field name. */
  unmapped?: string[];
  logsources: PipelineLogsource[];
}

export interface PipelineLogsource {
  name: string;
  /**
   * Applies to a rule whose logsource has exactly these keys and values (case-insensitive); `'*'` accepts
   * any value of that key, or none. Several entries may apply: their event selections are OR-ed.
   */
  logsource: { product?: string; category?: string; service?: string };
  /**
   * A Sigma detection (search identifiers + `condition`, or one plain selection) that an event must
   * satisfy to belong to the logsource, in this entry's field names; `false` = no collected event does.
   */
  events: Record<string, unknown> | false;
  fieldmappings?: Record<string, string | string[]>;
  unmapped?: string[];
}

export const PIPELINE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://citysoc.example/schemas/sigma-pipeline.json',
  title: 'citysoc Sigma processing pipeline',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'logsources'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]*$' },
    description: { type: 'string' },
    fieldmappings: { $ref: '#/$defs/fieldmappings' },
    unmapped: { $ref: '#/$defs/unmapped' },
    logsources: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'logsource', 'events'],
        properties: {
          name: { type: 'string', minLength: 1 },
          logsource: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              product: { type: 'string', minLength: 1 },
              category: { type: 'string', minLength: 1 },
              service: { type: 'string', minLength: 1 },
            },
          },
          events: {
            oneOf: [{ const: false }, { type: 'object', minProperties: 1 }],
          },
          fieldmappings: { $ref: '#/$defs/fieldmappings' },
          unmapped: { $ref: '#/$defs/unmapped' },
        },
      },
    },
  },
  $defs: {
    fieldmappings: {
      type: 'object',
      additionalProperties: {
        oneOf: [
          { type: 'string', minLength: 1 },
          { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        ],
      },
    },
    unmapped: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: '\\{field\\}' },
    },
  },
} as const;

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validateSpec = ajv.compile(PIPELINE_SCHEMA);

export interface LoadedPipeline {
  pipeline: CompiledPipeline | undefined;
  errors: RuleError[];
}

/** A pipeline ready for `compileRules`: `{ logsource: p.logsource, fieldsFor: p.fieldsFor }`. */
export interface CompiledPipeline {
  readonly name: string;
  readonly file: string;
  /** The events of a rule logsource, or null when the pipeline selects none (the rule is left out). */
  logsource(ls: SigmaLogsource): LogsourcePredicate | null;
  /** Field resolution for a rule of this logsource. */
  fieldsFor(ls: SigmaLogsource): FieldResolver;
  /** Pipeline entries a rule logsource resolves to (for `rules check` and tests). */
  entriesFor(ls: SigmaLogsource): string[];
  /**
   * The event selections `logsource(ls)` tests, as Sigma detections with the field resolution each is
   * compiled with (an event belongs to the logsource if any selection holds), so a backend can translate
   * them; null when the pipeline selects none.
   */
  eventsFor(ls: SigmaLogsource): LogsourceSelection[] | null;
}

export interface LogsourceSelection {
  entry: string;
  detection: Record<string, unknown>;
  fields: FieldResolver;
}

type LsKey = 'product' | 'category' | 'service';
const LS_KEYS: readonly LsKey[] = ['product', 'category', 'service'];

interface Entry {
  spec: PipelineLogsource;
  specificity: number;
  test: CompiledDetection | null;
}

function specificity(ls: PipelineLogsource): number {
  return LS_KEYS.filter((k) => ls.logsource[k] !== undefined && ls.logsource[k] !== '*').length;
}

function norm(v: string | undefined): string | undefined {
  return v?.toLowerCase();
}

function toList(v: string | string[]): string[] {
  return Array.isArray(v) ? v : [v];
}

/** Line of the YAML node at a JSON pointer (ajv's instancePath), or 1. */
function lineAt(doc: ReturnType<typeof parseDocument>, lc: LineCounter, pointer: string): number {
  const segs = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = segs.length; n >= 0; n--) {
    const node = doc.getIn(segs.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lc.linePos(node.range[0]).line;
  }
  return 1;
}

/** Parses and validates one pipeline file's text; every problem comes back as a `file:line` error. */
export function loadPipelineFromText(text: string, file: string): LoadedPipeline {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, merge: true });
  const errors: RuleError[] = [];
  const err = (line: number, code: RuleError['code'], message: string): void => {
    errors.push({ file, line, code, message });
  };
  for (const e of doc.errors) err(lc.linePos(e.pos[0]).line, 'YAML_SYNTAX', e.message);
  if (errors.length > 0) return { pipeline: undefined, errors };
  const data: unknown = doc.toJS();
  if (!validateSpec(data)) {
    for (const e of validateSpec.errors ?? []) {
      err(
        lineAt(doc, lc, e.instancePath),
        'INVALID_DOCUMENT',
        `pipeline${e.instancePath || ''} ${e.message ?? 'is invalid'}`,
      );
    }
    return { pipeline: undefined, errors };
  }
  const spec = data as PipelineSpec;
  const seen = new Set<string>();
  const entries: Entry[] = [];
  spec.logsources.forEach((ls, i) => {
    const line = lineAt(doc, lc, `/logsources/${i}`);
    if (seen.has(ls.name)) err(line, 'INVALID_DOCUMENT', `logsource entry "${ls.name}" is defined twice`);
    seen.add(ls.name);
    let test: CompiledDetection | null = null;
    if (ls.events !== false) {
      const det = 'condition' in ls.events ? ls.events : { selection: ls.events, condition: 'selection' };
      try {
        test = compileDetection(
          det,
          { fields: resolverOf(spec, [ls]) },
          {},
          lineAt(doc, lc, `/logsources/${i}/events`),
        );
      } catch (e) {
        if (!(e instanceof SigmaError)) throw e;
        err(e.line ?? line, e.code, `logsource entry "${ls.name}": ${e.message}`);
      }
    }
    entries.push({ spec: ls, specificity: specificity(ls), test });
  });
  if (errors.length > 0) return { pipeline: undefined, errors };
  return { pipeline: compilePipeline(spec, entries, file), errors };
}

/** Field resolution from the pipeline's mappings and the given entries, least specific first. */
function resolverOf(spec: PipelineSpec, chain: readonly PipelineLogsource[]): FieldResolver {
  const map = new Map<string, string[]>();
  for (const [k, v] of Object.entries(spec.fieldmappings ?? {})) map.set(k, toList(v));
  // Entries of equal specificity that map a field differently are alternatives; a more specific entry
  // replaces what a less specific one said.
  let level = -1;
  let fromLevel = new Set<string>();
  let unmapped = spec.unmapped ?? ['{field}'];
  for (const ls of chain) {
    const spec2 = specificity(ls);
    if (spec2 !== level) {
      level = spec2;
      fromLevel = new Set();
    }
    for (const [k, v] of Object.entries(ls.fieldmappings ?? {})) {
      const prev = fromLevel.has(k) ? (map.get(k) ?? []) : [];
      map.set(k, [...new Set([...prev, ...toList(v)])]);
      fromLevel.add(k);
    }
    if (ls.unmapped) unmapped = ls.unmapped;
  }
  const cache = new Map<string, readonly string[]>();
  return (field) => {
    let r = cache.get(field);
    if (r === undefined) {
      r = map.get(field) ?? [...new Set(unmapped.map((t) => t.replaceAll('{field}', field)))];
      cache.set(field, r);
    }
    return r;
  };
}

function compilePipeline(spec: PipelineSpec, entries: Entry[], file: string): CompiledPipeline {
  /**
   * A key the entry leaves out must be absent from the rule too: a rule about `category: process_creation`
   * is not about every event of its product, and a service nobody collects selects nothing.
   */
  const applicable = (ls: SigmaLogsource): Entry[] =>
    entries
      .filter((e) =>
        LS_KEYS.every((k) => {
          const v = e.spec.logsource[k];
          return v === '*' || norm(v) === norm(ls[k]);
        }),
      )
      .sort((a, b) => a.specificity - b.specificity);
  const mostSpecific = (list: Entry[]): Entry[] => {
    const top = list[list.length - 1]?.specificity;
    return list.filter((e) => e.specificity === top);
  };
  const predicates = new Map<string, LogsourcePredicate>();
  return {
    name: spec.name,
    file,
    logsource(ls) {
      const chosen = mostSpecific(applicable(ls)).filter((e) => e.test !== null);
      if (chosen.length === 0) return null;
      // One predicate object per set of entries, so a caller can ask it once per event for all the
      // logsources it serves (cisco/aaa, cisco/bgp … are all the `cisco` entry).
      const key = chosen.map((e) => e.spec.name).join('\u0000');
      let pred = predicates.get(key);
      if (!pred) {
        const tests = chosen.map((e) => e.test as CompiledDetection);
        const fn = (event: Record<string, unknown>): boolean => {
          const ctx = ctxFor(event);
          for (const t of tests) if (t.test(ctx)) return true;
          return false;
        };
        // The entries' literals let the rule set's index reject most events before the predicate runs.
        const req2 = tests.map((t) => t.req2 ?? null);
        const reads = tests.map((t) => t.reads);
        const partials = tests.map((t) => t.partial);
        const wreqs = tests.map((t) => t.wreq);
        const partial = partials.every((x) => x !== undefined)
          ? (event: Record<string, unknown>): 0 | 1 | 2 => {
              const ctx = ctxFor(event);
              let r: 0 | 1 | 2 = NO;
              for (const x of partials) {
                const v = x(ctx);
                if (v === YES) return YES;
                if (v === UNKNOWN) r = UNKNOWN;
              }
              return r;
            }
          : undefined;
        pred = Object.assign(fn, {
          req: reqOr(tests.map((t) => t.req)),
          req2: req2.every((r) => r !== null) ? reqOr(req2) : null,
          reads: reads.some((r) => r === undefined)
            ? undefined
            : reads.some((r) => r === null)
              ? null
              : reads.flatMap((r) => r ?? []),
          partial,
          // The predicate is an OR of the entries: the union of theirs (see compile.ts, wreqUnion).
          ...(wreqs.every((w) => w !== undefined && w !== null) ? { wreq: reqOr(wreqs) } : {}),
        });
        predicates.set(key, pred);
      }
      return pred;
    },
    fieldsFor(ls) {
      return resolverOf(
        spec,
        applicable(ls).map((e) => e.spec),
      );
    },
    entriesFor(ls) {
      return mostSpecific(applicable(ls)).map((e) => e.spec.name);
    },
    eventsFor(ls) {
      // The same entries `logsource` chooses, each with the resolver it was compiled with.
      const chosen = mostSpecific(applicable(ls)).filter((e) => e.test !== null);
      if (chosen.length === 0) return null;
      return chosen.map((e) => {
        const ev = e.spec.events as Record<string, unknown>;
        return {
          entry: e.spec.name,
          detection: 'condition' in ev ? ev : { selection: ev, condition: 'selection' },
          fields: resolverOf(spec, [e.spec]),
        };
      });
    },
  };
}

export function loadPipelineFile(file: string): LoadedPipeline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return {
      pipeline: undefined,
      errors: [{ file, line: 1, code: 'IO', message: e instanceof Error ? e.message : String(e) }],
    };
  }
  return loadPipelineFromText(text, file);
}

/**
 * `NAME` is looked up as `<dir>/NAME.yml` in each folder given (a rule folder's `pipelines/` subfolder);
 * a value with a slash or a .yml/.yaml suffix is a file path.
 */
export function findPipeline(name: string, dirs: readonly string[]): string | undefined {
  if (name.includes('/') || /\.ya?ml$/i.test(name)) return name;
  for (const d of dirs) {
    for (const ext of ['.yml', '.yaml']) {
      const f = path.join(d, `${name}${ext}`);
      if (existsSync(f)) return f;
    }
  }
  return undefined;
}

/**
 * What `compileRules` needs to see events as this pipeline selects and names them. The detector, retro-hunts
 * and `rules match` use it, so a hunt over history selects exactly what the streaming detector would.
 */
export function pipelineCompileOptions(p: CompiledPipeline): {
  logsource: (ls: SigmaLogsource) => LogsourcePredicate | null;
  fieldsFor: (ls: SigmaLogsource) => FieldResolver;
  eventsFor: (ls: SigmaLogsource) => LogsourceSelection[] | null;
} {
  return {
    logsource: (ls) => p.logsource(ls),
    fieldsFor: (ls) => p.fieldsFor(ls),
    eventsFor: (ls) => p.eventsFor(ls),
  };
}
