import { loadRulesFromText } from '@citysoc/sigma';
import { type EcsEvent } from '@citysoc/ecs';
import { buildEngine } from './engine';

/**
 * Rules come from outside: a pattern built to backtrack catastrophically must not stall detection. Regexes
 * run on RE2 semantics and wildcards on a greedy matcher with one backtrack point, so each event below is
 * linear work; with a backtracking engine these inputs would not finish in any practical time.
 */
const hostile = (field: string, value: string) =>
  loadRulesFromText(
    `title: hostile\nid: hostile-1\nlogsource: { product: citysoc }\ndetection:\n  sel:\n    ${field}: '${value}'\n  condition: sel\nlevel: low\n`,
    'hostile.yml',
  ).rules;

const event = (message: string): EcsEvent => ({
  '@timestamp': '2026-11-27T03:00:00.000Z',
  message,
  event: { id: 'e1', created: '2026-11-27T03:00:00.000Z', module: 'syslog' },
});

describe('hostile patterns cannot stall the detector', () => {
  it.each([
    ['nested quantifiers (a+)+$', 'message|re', '(a+)+$', 'a'.repeat(100_000) + '!', 0],
    ['alternation blow-up (a|aa)+$', 'message|re', '(a|aa)+$', 'a'.repeat(100_000) + '!', 0],
    ['a matching nested quantifier still matches', 'message|re', '(a+)+!$', 'a'.repeat(100_000) + '!', 1],
    ['many wildcards', 'message', '*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(100_000), 0],
  ])('%s', (_n, field, value, message, alerts) => {
    const engine = buildEngine(hostile(field, value), undefined);
    expect(engine.errors).toEqual([]);
    expect(engine.detect(event(message))).toHaveLength(alerts);
  });
});
