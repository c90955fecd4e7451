import path from 'node:path';
import { projectRoot } from '@citysoc/config';
import { findPipeline, loadPipelineFile, loadRules, PIPELINES_DIR, type RuleError } from '@citysoc/sigma';
import { buildEngine, type DetectionEngine } from './engine';

export interface RuleSource {
  /** Rule folders or files, in load order (the shipped folder first). */
  paths: string[];
  /** Pipeline name (looked up in each rule folder's `pipelines/`), a file path, or `none`. */
  pipeline: string;
  includeDeprecated?: boolean;
  includeUnsupported?: boolean;
}

export interface LoadedRuleSet {
  engine: DetectionEngine;
  /** Every problem: pipeline, YAML, rule and compile errors, as `file:line` records. */
  errors: RuleError[];
  files: number;
  pipeline: string;
}

/** Loads rules and the pipeline and compiles them; throws only when the pipeline itself is unusable. */
export function loadRuleSet(src: RuleSource): LoadedRuleSet {
  let pipeline;
  if (src.pipeline !== 'none') {
    // The rule folders' own pipelines first, then the ones shipped with citysoc.
    const dirs = [
      ...new Set([
        ...src.paths.map((p) => path.join(p, PIPELINES_DIR)),
        path.join(projectRoot(), 'rules', PIPELINES_DIR),
      ]),
    ];
    const file = findPipeline(src.pipeline, dirs);
    if (!file) {
      throw new PipelineError([
        {
          file: src.pipeline,
          line: 1,
          code: 'IO',
          message: `processing pipeline "${src.pipeline}" not found in ${dirs.join(', ')}`,
        },
      ]);
    }
    const loaded = loadPipelineFile(file);
    if (!loaded.pipeline) throw new PipelineError(loaded.errors);
    pipeline = loaded.pipeline;
  }
  const loaded = loadRules(src.paths, {
    includeStatuses: {
      deprecated: Boolean(src.includeDeprecated),
      unsupported: Boolean(src.includeUnsupported),
    },
  });
  const engine = buildEngine(loaded.rules, pipeline);
  return {
    engine,
    errors: [...loaded.errors, ...engine.errors],
    files: loaded.files,
    pipeline: pipeline?.name ?? 'none',
  };
}

export class PipelineError extends Error {
  constructor(readonly errors: RuleError[]) {
    super(errors.map(problemLine).join('; '));
  }
}

export function problemLine(e: RuleError): string {
  return `${e.file}:${e.line}: ${e.message}`;
}

export interface ReloadStatus {
  /** True when the last reload was applied (or nothing has been reloaded yet). */
  ok: boolean;
  /** ISO time of the last attempt. */
  at: string;
  trigger: string;
  /** Rules active now (in the set that is running). */
  rules: number;
  correlations: number;
  /** Problems of the last attempt; for a rejected reload, the new ones that caused the rejection. */
  errors: string[];
  /** Quarantined rules of the running set that already were when it was accepted. */
  quarantined: number;
}

/**
 * Decides whether a freshly loaded set may replace the running one. A reload that introduces a problem
 * the running set did not have (a broken file, a rule that no longer compiles, a broken pipeline) is
 * rejected and the previous set keeps running; problems that were already there (a quarantined rule
 * from an external corpus) do not block every later reload.
 */
export function newProblems(previous: readonly RuleError[], next: readonly RuleError[]): RuleError[] {
  const known = new Set(previous.map(problemLine));
  return next.filter((e) => !known.has(problemLine(e)));
}
