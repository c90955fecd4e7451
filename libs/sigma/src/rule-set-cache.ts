import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { type RuleError } from './errors';
import { loadRules, ruleFiles } from './load';
import { type LoadOptions, type SigmaRule } from './model';

export interface LoadedRuleSet {
  rules: SigmaRule[];
  errors: RuleError[];
  files: number;
  /** Of the folders' contents when they were read (ruleFolderFingerprint). */
  fingerprint: string;
  /** When they were read (ms since the epoch, the cache's clock). */
  loadedAt: number;
}

export interface RuleSetCacheOptions {
  /** How long a loaded set is answered without looking at the folders again. */
  recheckMs?: number;
  now?: () => number;
  load?: LoadOptions;
}

export const DEFAULT_RULE_RECHECK_MS = 5_000;

/**
 * What the rule folders hold, from file metadata only: every rule file `loadRules` would read, with its
 * size and modification time (ns), and the paths it could not read. Listing and stat-ing a few thousand
 * files costs milliseconds; parsing them costs seconds.
 */
export function ruleFolderFingerprint(paths: string[]): string {
  const { files, errors } = ruleFiles(paths);
  const h = createHash('sha256');
  for (const f of files) {
    try {
      const st = statSync(f, { bigint: true });
      h.update(`${f}\0${st.size}\0${st.mtimeNs}\n`);
    } catch {
      h.update(`${f}\0gone\n`);
    }
  }
  for (const e of errors) h.update(`!${e.file}\0${e.message}\n`);
  return h.digest('hex');
}

/**
 * The rule set of some folders, loaded once and reloaded only when their contents change: at most every
 * `recheckMs` the folders are listed and stat-ed (ruleFolderFingerprint), and only a different fingerprint
 * reads and parses the files again. A file changed while it is being loaded is caught by the next check
 * (the fingerprint is taken before the read, so it then differs): an answer is never staler than
 * `recheckMs`.
 */
export class RuleSetCache {
  private current?: LoadedRuleSet;
  private checkedAt = 0;
  private readonly recheckMs: number;
  private readonly now: () => number;
  /** Folder checks and full loads so far (tests, metrics). */
  readonly stats = { checks: 0, loads: 0 };

  constructor(
    readonly paths: string[],
    private readonly o: RuleSetCacheOptions = {},
  ) {
    this.recheckMs = o.recheckMs ?? DEFAULT_RULE_RECHECK_MS;
    this.now = o.now ?? Date.now;
  }

  get(): LoadedRuleSet {
    const t = this.now();
    if (this.current && t - this.checkedAt < this.recheckMs) return this.current;
    const fingerprint = ruleFolderFingerprint(this.paths);
    this.stats.checks++;
    this.checkedAt = t;
    if (this.current?.fingerprint === fingerprint) return this.current;
    const r = loadRules(this.paths, this.o.load);
    this.stats.loads++;
    this.current = { ...r, fingerprint, loadedAt: t };
    return this.current;
  }
}
