/**
 * Configuration as a schema: every option declares its environment variable, a description and a default,
 * is parsed once at boot, and all problems are reported together so an operator fixes them in one pass.
 */
export interface OptionSpec<T> {
  env: string;
  description: string;
  /** Undefined means required. */
  default?: T;
  secret?: boolean;
  parse(raw: string): T;
  /** How the default is shown in `.env.example`. */
  example?: string;
}

export type Schema = Record<string, OptionSpec<unknown>>;
export type ConfigOf<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export function loadConfig<S extends Schema>(schema: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const raw = env[spec.env];
    if (raw === undefined || raw === '') {
      if (spec.default === undefined) problems.push(`${spec.env} is required: ${spec.description}`);
      else out[key] = spec.default;
      continue;
    }
    try {
      out[key] = spec.parse(raw);
    } catch (err) {
      const shown = spec.secret ? '(hidden)' : JSON.stringify(raw);
      problems.push(`${spec.env}=${shown}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/** Renders `.env.example` lines for one or more schemas (deduplicated by variable name). */
export function renderEnvExample(sections: Array<{ title: string; schema: Schema }>): string {
  const seen = new Set<string>();
  const lines: string[] = ['# Generated from the config schemas: npm run env:example', ''];
  for (const { title, schema } of sections) {
    const specs = Object.values(schema).filter((s) => !seen.has(s.env));
    if (specs.length === 0) continue;
    lines.push(`# ── ${title} ──`);
    for (const spec of specs) {
      seen.add(spec.env);
      lines.push(`# ${spec.description}`);
      const shown = spec.example ?? (spec.default === undefined ? '' : formatDefault(spec.default));
      lines.push(`${spec.default === undefined ? '' : '# '}${spec.env}=${spec.secret ? '' : shown}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

function formatDefault(v: unknown): string {
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}
