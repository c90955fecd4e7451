import { createReadStream, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parse as parseYaml } from 'yaml';
import path from 'node:path';
import { projectRoot } from '@citysoc/config';
import {
  type CompiledPipeline,
  type CompiledRuleSet,
  type CompileOptions,
  CorrelationEngine,
  findPipeline,
  loadPipelineFile,
  loadRules,
  PIPELINES_DIR,
  type RuleError,
  type SigmaRule,
  compileRules,
  StreamMatcher,
} from '@citysoc/sigma';

export interface LoadedSet {
  set: CompiledRuleSet;
  /** Correlation rules of the set, evaluated on the matches in input order; undefined when there are none. */
  correlation: CorrelationEngine | undefined;
  problems: RuleError[];
}

export interface SetOptions {
  placeholders?: Record<string, string[]>;
  /** A pipeline name (rule folders' `pipelines/`, then citysoc's rules/pipelines), a file, or `none`. */
  pipeline?: string;
  /** Evaluate every rule on every event: the pipeline's field mappings apply, its event selection not. */
  allLogsources?: boolean;
}

/** Resolves `--pipeline`; throws with every `file:line` problem when the pipeline cannot be used. */
export function resolvePipeline(name: string, rulePaths: string[]): CompiledPipeline | undefined {
  if (name === 'none') return undefined;
  const dirs = [
    ...new Set([
      ...rulePaths.map((p) => path.join(p, PIPELINES_DIR)),
      path.join(projectRoot(), 'rules', PIPELINES_DIR),
    ]),
  ];
  const file = findPipeline(name, dirs);
  if (!file) throw new Error(`processing pipeline "${name}" not found in ${dirs.join(', ')}`);
  const loaded = loadPipelineFile(file);
  if (!loaded.pipeline) throw new Error(loaded.errors.map(formatProblem).join('\n'));
  return loaded.pipeline;
}

/** `--placeholders FILE`: a YAML map, name → list of values (a single value is a list of one). */
export function readPlaceholders(file: string): Record<string, string[]> {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error(`${file}: placeholders must be a YAML map of name to list of values`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    out[k] = (Array.isArray(v) ? v : [v]).map((x) => String(x));
  }
  return out;
}

export function loadSet(paths: string[], o: SetOptions = {}): LoadedSet {
  const pipeline = resolvePipeline(o.pipeline ?? 'none', paths);
  const loaded = loadRules(paths);
  const opts: CompileOptions = o.placeholders ? { placeholders: o.placeholders } : {};
  if (pipeline) {
    opts.fieldsFor = (ls) => pipeline.fieldsFor(ls);
    if (!o.allLogsources) opts.logsource = (ls) => pipeline.logsource(ls);
  }
  const set = compileRules(loaded.rules, opts);
  const correlations = loaded.rules.filter((r: SigmaRule) => r.kind === 'correlation');
  const correlation = correlations.length > 0 ? new CorrelationEngine(correlations, loaded.rules) : undefined;
  return { set, correlation, problems: [...loaded.errors, ...set.errors, ...(correlation?.errors ?? [])] };
}

export function formatProblem(e: RuleError): string {
  return `${e.file}:${e.line}: ${e.message}`;
}

/**
 * `--rules` is variadic, so `--rules dir events.jsonl` hands the events file to it; a trailing argument
 * that names JSON lines (or `-`) is taken back as the events input.
 */
export function splitEventsArg(rules: string[], events: string | undefined): [string[], string] {
  if (events !== undefined) return [rules, events];
  const last = rules[rules.length - 1];
  if (rules.length > 1 && last !== undefined && (last === '-' || /\.(jsonl|ndjson|json)$/i.test(last))) {
    return [rules.slice(0, -1), last];
  }
  return [rules, '-'];
}

export interface MatchedLine {
  line: number;
  /** Parsed event, or the reason the line is not one. */
  event: Record<string, unknown> | string;
}

/** Non-empty lines of a JSON-lines input, numbered from 1 as in the file. */
export async function* readEvents(file: string): AsyncGenerator<MatchedLine> {
  const input = file === '-' ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      yield { line: n, event: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
      continue;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      yield { line: n, event: 'an event must be a JSON object' };
      continue;
    }
    yield { line: n, event: v as Record<string, unknown> };
  }
}

export interface RunResult {
  events: number;
  seconds: number;
  badLines: number;
}

/**
 * Matches every event in order; `emit` gets one output line per event. Only `set.match` is timed, so
 * the figure is the engine's, not the JSON parser's.
 */
export async function runEvents(
  loaded: Pick<LoadedSet, 'set' | 'correlation'>,
  file: string,
  emit: (line: string) => void,
  err: NodeJS.WritableStream,
): Promise<RunResult> {
  const stream = new StreamMatcher(loaded.set, loaded.correlation);
  let events = 0;
  let badLines = 0;
  let ms = 0;
  for await (const { line, event } of readEvents(file)) {
    if (typeof event === 'string') {
      badLines++;
      err.write(`line ${line}: ${event}\n`);
      emit(JSON.stringify({ line, matches: [], error: event }));
      continue;
    }
    events++;
    const t0 = performance.now();
    const r = stream.push(event, line);
    ms += performance.now() - t0;
    emit(JSON.stringify({ line, matches: r.matches }));
    for (const c of r.correlations) emit(JSON.stringify(c));
  }
  return { events, seconds: ms / 1000, badLines };
}

/** Output lines are gathered and written in chunks: one write per event dominates on large inputs. */
export function chunkedWriter(out: NodeJS.WritableStream): { emit: (l: string) => void; flush: () => void } {
  let buf: string[] = [];
  const flush = (): void => {
    if (buf.length > 0) out.write(buf.join('\n') + '\n');
    buf = [];
  };
  return {
    emit: (l) => {
      buf.push(l);
      if (buf.length >= 512) flush();
    },
    flush,
  };
}

export function statsLine(set: CompiledRuleSet, r: RunResult): string {
  const seconds = Number(r.seconds.toFixed(6));
  return JSON.stringify({
    events: r.events,
    rules: set.size,
    seconds,
    events_per_second: r.seconds > 0 ? Math.round(r.events / r.seconds) : 0,
  });
}

/** The costliest rules by estimated matching time, as an aligned text table. */
export function profileTable(set: CompiledRuleSet, r: RunResult, top: number): string {
  const st = set.stats();
  const rows = [...st.rules].sort((a, b) => b.estimatedNs - a.estimatedNs || b.evaluations - a.evaluations);
  const lines = [
    `${r.events} events, ${set.size} rules, matching ${r.seconds.toFixed(3)} s ` +
      `(${r.seconds > 0 ? Math.round(r.events / r.seconds) : 0} events/s), ` +
      `${(st.evaluations / Math.max(1, st.events)).toFixed(2)} rule evaluations per event; ` +
      `${st.index.always} rules evaluated on every event (no literal to index)`,
    `time is sampled (one evaluation in ${Math.round(st.evaluations / Math.max(1, sumTimed(st.rules)))} timed) and scaled`,
    '',
    ['rank', 'est_ms', 'evals', 'matches', 'us/eval', 'rule'].join('\t'),
  ];
  rows.slice(0, top).forEach((x, i) => {
    const perEval = x.timedEvaluations > 0 ? x.timedNs / x.timedEvaluations / 1000 : 0;
    lines.push(
      [
        String(i + 1),
        (x.estimatedNs / 1e6).toFixed(3),
        String(x.evaluations),
        String(x.matches),
        perEval.toFixed(2),
        `${x.id} ${x.title} (${x.file}:${x.line})`,
      ].join('\t'),
    );
  });
  return lines.join('\n') + '\n';
}

function sumTimed(rules: { timedEvaluations: number }[]): number {
  let n = 0;
  for (const r of rules) n += r.timedEvaluations;
  return n;
}
