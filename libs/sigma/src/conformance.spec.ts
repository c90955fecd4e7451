import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type SigmaRule, compileRules, loadRulesFromText } from './index';
import knownFailures from './conformance.known-failures.json';

/**
 * Runs the shared public case set (`sigma/cases/cases.jsonl`). The known-failure list is asserted exactly:
 * a new failure and a newly passing case both fail, so the list always tells the truth.
 */
const repoRoot = path.resolve(__dirname, '../../..');
const corpusDir = process.env['CITYSOC_CORPUS_DIR'] ?? path.resolve(repoRoot, '../shared/corpus');
const casesFile = path.join(corpusDir, 'sigma', 'cases', 'cases.jsonl');
const present = existsSync(casesFile);
if (!present) console.warn(`sigma conformance skipped: ${casesFile} not found (set CITYSOC_CORPUS_DIR)`);

interface Case {
  case_id: string;
  rule?: string;
  rule_yaml?: string;
  rule_id: string;
  placeholders?: Record<string, string[]>;
  event: Record<string, unknown>;
  expected: boolean;
  note?: string;
}

(present ? describe : describe.skip)('sigma conformance (shared corpus cases)', () => {
  it('matches the expected verdict of every case except the documented known failures', () => {
    const lines = readFileSync(casesFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const cases = lines.map((l) => JSON.parse(l) as Case);
    const ruleCache = new Map<string, SigmaRule>();
    const failures: Record<string, string> = {};
    let passed = 0;
    for (const c of cases) {
      let verdict: boolean | string;
      try {
        const key = c.rule ?? c.rule_yaml ?? '';
        let rule = ruleCache.get(key);
        if (!rule) {
          const text = c.rule
            ? readFileSync(path.join(corpusDir, 'sigma', c.rule), 'utf8')
            : (c.rule_yaml ?? '');
          const loaded = loadRulesFromText(text, c.rule ?? c.case_id, {
            includeStatuses: { deprecated: true, unsupported: true },
          });
          if (loaded.errors.length > 0 || loaded.rules.length !== 1) {
            throw new Error(`load: ${loaded.errors.map((e) => `${e.line}: ${e.message}`).join('; ')}`);
          }
          const first = loaded.rules[0];
          if (!first) throw new Error('load: no rule');
          rule = first;
          ruleCache.set(key, rule);
        }
        const set = compileRules([rule], c.placeholders ? { placeholders: c.placeholders } : {});
        if (set.errors.length > 0) throw new Error(`compile: ${set.errors.map((e) => e.message).join('; ')}`);
        verdict = set.match(c.event).length > 0;
      } catch (e) {
        verdict = e instanceof Error ? e.message : String(e);
      }
      if (verdict === c.expected) passed++;
      else
        failures[c.case_id] =
          typeof verdict === 'string' ? verdict : `expected ${c.expected}, got ${verdict}`;
    }
    console.log(
      `sigma conformance: ${passed}/${cases.length} cases pass (${Object.keys(failures).length} fail)`,
    );
    const known = knownFailures as Record<string, string>;
    const unexpected = Object.keys(failures).filter((id) => !(id in known));
    const fixed = Object.keys(known).filter((id) => !(id in failures));
    expect({
      newFailures: Object.fromEntries(unexpected.map((id) => [id, failures[id]])),
      nowPassing: fixed,
    }).toEqual({
      newFailures: {},
      nowPassing: [],
    });
  });
});
