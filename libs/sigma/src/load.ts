import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { type Document, LineCounter, isMap, isScalar, parseAllDocuments } from 'yaml';
import { type RuleError, SigmaError } from './errors';
import {
  LEVELS,
  type LoadOptions,
  type RuleKind,
  type SigmaCorrelation,
  type SigmaLevel,
  type SigmaLogsource,
  type SigmaRule,
  STATUSES,
} from './model';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Sorted-key JSON, so the version hash does not depend on key order or formatting in the file. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (isObj(v)) {
    return (
      '{' +
      Object.keys(v)
        .sort()
        .map((k) => JSON.stringify(k) + ':' + canonical(v[k]))
        .join(',') +
      '}'
    );
  }
  return JSON.stringify(v) ?? 'null';
}

function scalarText(v: unknown): string {
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : JSON.stringify(v);
}

function optString(data: Obj, key: string, line: number): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (key === 'author' && Array.isArray(v)) return v.map(String).join(', ');
  throw new SigmaError('INVALID_FIELD', `${key} must be a string`, line);
}

function optStringList(data: Obj, key: string, line: number): string[] | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v))
    return v.filter((x) => x !== null && x !== undefined).map((x) => (isObj(x) ? canonical(x) : String(x)));
  throw new SigmaError('INVALID_FIELD', `${key} must be a list of strings`, line);
}

interface DocLines {
  /** Line of a top-level key, for errors about that key. */
  key(k: string): number;
  detection: Record<string, number>;
}

function docLines(doc: Document, lc: LineCounter, start: number): DocLines {
  const lineAt = (offset: number | undefined): number =>
    offset === undefined ? start : lc.linePos(offset).line;
  const top = new Map<string, number>();
  const detection: Record<string, number> = {};
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (!isScalar(pair.key)) continue;
      const name = String(pair.key.value);
      top.set(name, lineAt(pair.key.range?.[0]));
      if ((name === 'detection' || name === 'filter') && isMap(pair.value)) {
        for (const inner of pair.value.items) {
          if (isScalar(inner.key)) detection[String(inner.key.value)] = lineAt(inner.key.range?.[0]);
        }
      }
    }
  }
  return { key: (k) => top.get(k) ?? start, detection };
}

function kindOf(data: Obj): RuleKind {
  if ('correlation' in data) return 'correlation';
  if ('filter' in data && !('detection' in data)) return 'filter';
  return 'detection';
}

function parseCorrelation(v: unknown, line: number): SigmaCorrelation {
  if (!isObj(v)) throw new SigmaError('INVALID_FIELD', 'correlation must be a map', line);
  const type = v['type'];
  if (typeof type !== 'string') throw new SigmaError('MISSING_FIELD', 'correlation.type is required', line);
  const rules = v['rules'];
  const list = typeof rules === 'string' ? [rules] : Array.isArray(rules) ? rules.map(String) : [];
  const groupBy = v['group-by'];
  const c: SigmaCorrelation = { type, rules: list };
  if (groupBy !== undefined) c.groupBy = (Array.isArray(groupBy) ? groupBy : [groupBy]).map(String);
  if (v['timespan'] !== undefined) c.timespan = scalarText(v['timespan']);
  if (isObj(v['condition'])) c.condition = v['condition'];
  if (isObj(v['aliases'])) c.aliases = v['aliases'];
  if (v['generate'] !== undefined) c.generate = v['generate'] === true;
  return c;
}

/** Builds the rule model from one parsed document; throws SigmaError (with a line) on a broken rule. */
function buildRule(data: Obj, file: string, start: number, lines: DocLines): SigmaRule {
  const kind = kindOf(data);
  const title = data['title'];
  if (typeof title !== 'string' || title.trim() === '') {
    throw new SigmaError('MISSING_FIELD', 'title is required and must be a string', lines.key('title'));
  }
  const levelRaw = data['level'];
  let level: SigmaLevel = 'medium';
  if (levelRaw !== undefined && levelRaw !== null) {
    if (typeof levelRaw !== 'string' || !(LEVELS as readonly string[]).includes(levelRaw)) {
      throw new SigmaError('INVALID_FIELD', `level must be one of ${LEVELS.join(', ')}`, lines.key('level'));
    }
    level = levelRaw as SigmaLevel;
  }
  const status = optString(data, 'status', lines.key('status'));
  if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
    throw new SigmaError(
      'INVALID_FIELD',
      `status must be one of ${STATUSES.join(', ')}`,
      lines.key('status'),
    );
  }

  const ls = data['logsource'];
  let logsource: SigmaLogsource = {};
  if (ls !== undefined && ls !== null) {
    if (!isObj(ls)) throw new SigmaError('INVALID_FIELD', 'logsource must be a map', lines.key('logsource'));
    logsource = {};
    for (const k of ['product', 'category', 'service', 'definition'] as const) {
      const v = ls[k];
      if (v !== undefined && v !== null) logsource[k] = scalarText(v);
    }
  } else if (kind !== 'correlation') {
    throw new SigmaError('MISSING_FIELD', 'logsource is required', start);
  }

  let detection: Obj = {};
  let correlation: SigmaCorrelation | undefined;
  let filter: SigmaRule['filter'];
  if (kind === 'detection') {
    const det = data['detection'];
    if (det === undefined) throw new SigmaError('MISSING_FIELD', 'detection is required', start);
    if (!isObj(det))
      throw new SigmaError('INVALID_DETECTION', 'detection must be a map', lines.key('detection'));
    if (det['condition'] === undefined || det['condition'] === null) {
      throw new SigmaError('INVALID_DETECTION', 'detection.condition is required', lines.key('detection'));
    }
    detection = det;
  } else if (kind === 'correlation') {
    correlation = parseCorrelation(data['correlation'], lines.key('correlation'));
  } else {
    const f = data['filter'];
    if (!isObj(f)) throw new SigmaError('INVALID_FIELD', 'filter must be a map', lines.key('filter'));
    const { rules, ...rest } = f;
    const list = typeof rules === 'string' ? [rules] : Array.isArray(rules) ? rules.map(String) : undefined;
    if (!list) throw new SigmaError('MISSING_FIELD', 'filter.rules is required', lines.key('filter'));
    if (rest['condition'] === undefined)
      throw new SigmaError('INVALID_DETECTION', 'filter.condition is required', lines.key('filter'));
    filter = { rules: list, detection: rest };
    detection = rest;
  }

  const rawId = optString(data, 'id', lines.key('id'));
  const name = optString(data, 'name', lines.key('name'));
  const version = createHash('sha256')
    .update(
      canonical({
        title,
        id: rawId,
        name,
        status,
        level,
        logsource,
        detection: kind === 'filter' ? undefined : detection,
        correlation: data['correlation'],
        filter: data['filter'],
      }),
    )
    .digest('hex')
    .slice(0, 16);

  const rule: SigmaRule = {
    id: rawId ?? name ?? `anonymous-${version}`,
    title,
    level,
    logsource,
    detection,
    source: { file, line: start },
    detectionLines: lines.detection,
    version,
    kind,
    support:
      kind === 'correlation' ? { supported: false, reason: 'unsupported: correlation' } : { supported: true },
  };
  const strings = ['status', 'description', 'author', 'license', 'date', 'modified', 'taxonomy'] as const;
  for (const k of strings) {
    const v = k === 'status' ? status : optString(data, k, lines.key(k));
    if (v !== undefined) rule[k] = v;
  }
  if (name !== undefined) rule.name = name;
  for (const k of ['references', 'tags', 'falsepositives', 'fields'] as const) {
    const v = optStringList(data, k, lines.key(k));
    if (v !== undefined) rule[k] = v;
  }
  const related = data['related'];
  if (Array.isArray(related)) {
    rule.related = related.filter(isObj).map((r) => ({ id: String(r['id']), type: String(r['type']) }));
  }
  if (correlation) rule.correlation = correlation;
  if (filter) rule.filter = filter;
  return rule;
}

/**
 * Loads every YAML document of `text` as a rule. A broken document is reported with its line and
 * quarantined; the others still load. deprecated/unsupported rules are skipped unless asked for.
 */
export function loadRulesFromText(
  text: string,
  file: string,
  opts: LoadOptions = {},
): { rules: SigmaRule[]; errors: RuleError[] } {
  const rules: SigmaRule[] = [];
  const errors: RuleError[] = [];
  const lc = new LineCounter();
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const docs = parseAllDocuments(source, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  // An empty stream (only comments) carries its stream-level errors itself.
  if ('empty' in docs) {
    for (const e of docs.errors)
      errors.push({ file, line: e.linePos?.[0].line ?? 1, code: 'YAML_SYNTAX', message: e.message });
  }
  for (const doc of docs) {
    // The first key's line, not the document marker's, is where a reader looks for the rule.
    const first = isMap(doc.contents) ? doc.contents.items[0]?.key : undefined;
    const firstOffset = isScalar(first) ? first.range?.[0] : undefined;
    const start = lc.linePos(firstOffset ?? doc.contents?.range[0] ?? doc.range[0]).line;
    const idGuess = (): string | undefined => {
      const id = isMap(doc.contents) ? doc.contents.get('id') : undefined;
      return typeof id === 'string' ? id : undefined;
    };
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = e.linePos?.[0];
        const err: RuleError = {
          file,
          line: pos?.line ?? start,
          code: 'YAML_SYNTAX',
          message: e.message.split('\n')[0] ?? e.message,
        };
        if (pos?.col !== undefined) err.column = pos.col;
        const id = idGuess();
        if (id !== undefined) err.ruleId = id;
        errors.push(err);
      }
      continue;
    }
    if (doc.contents === null) continue; // an empty document, e.g. a trailing `---`
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      errors.push({
        file,
        line: start,
        code: 'YAML_SYNTAX',
        message: e instanceof Error ? e.message : String(e),
      });
      continue;
    }
    if (!isObj(data)) {
      errors.push({
        file,
        line: start,
        code: 'INVALID_DOCUMENT',
        message: 'a rule document must be a YAML map',
      });
      continue;
    }
    try {
      const rule = buildRule(data, file, start, docLines(doc, lc, start));
      const st = rule.status;
      if (st === 'deprecated' && !opts.includeStatuses?.deprecated) continue;
      if (st === 'unsupported' && !opts.includeStatuses?.unsupported) continue;
      rules.push(rule);
    } catch (e) {
      if (!(e instanceof SigmaError)) throw e;
      const err: RuleError = { file, line: e.line ?? start, code: e.code, message: e.message };
      const id = typeof data['id'] === 'string' ? data['id'] : undefined;
      if (id !== undefined) err.ruleId = id;
      errors.push(err);
    }
  }
  return { rules, errors };
}

export const PIPELINES_DIR = 'pipelines';

function collectFiles(p: string, out: string[], errors: RuleError[]): void {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    errors.push({ file: p, line: 1, code: 'IO', message: e instanceof Error ? e.message : String(e) });
    return;
  }
  if (st.isDirectory()) {
    const names = readdirSync(p).sort();
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const child = path.join(p, n);
      let cs;
      try {
        cs = statSync(child);
      } catch {
        continue;
      }
      // A `pipelines` folder beside the rules holds processing pipelines, which are not rules.
      if (cs.isDirectory()) {
        if (n !== PIPELINES_DIR) collectFiles(child, out, errors);
      } else if (/\.ya?ml$/i.test(n)) out.push(child);
    }
  } else {
    out.push(p);
  }
}

/** The rule files `loadRules` reads from `paths`, in its order, and the paths it cannot read. */
export function ruleFiles(paths: string[]): { files: string[]; errors: RuleError[] } {
  const files: string[] = [];
  const errors: RuleError[] = [];
  for (const p of paths) collectFiles(p, files, errors);
  return { files, errors };
}

/** Files or folders (recursive `*.yml`/`*.yaml`), read in sorted order so rule order is deterministic. */
export function loadRules(
  paths: string[],
  opts: LoadOptions = {},
): { rules: SigmaRule[]; errors: RuleError[]; files: number } {
  const { files, errors } = ruleFiles(paths);
  const rules: SigmaRule[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      errors.push({ file: f, line: 1, code: 'IO', message: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const r = loadRulesFromText(text, f, opts);
    rules.push(...r.rules);
    errors.push(...r.errors);
  }
  return { rules, errors, files: files.length };
}
