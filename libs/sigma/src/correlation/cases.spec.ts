import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadRulesFromText } from '../load';
import { compileRules } from '../ruleset';
import { type CorrelationLine, StreamMatcher } from '../stream';
import { CorrelationEngine } from './engine';

/**
 * Correlation conformance: the specification's examples as data (libs/sigma/test-data/correlation-cases.yml),
 * run through the same StreamMatcher as `citysoc rules match`, compared with the correlation lines the CLI
 * must print and the input line each follows.
 */
interface CaseEvent {
  at: number;
  repeat?: number;
  every?: number;
  event: Record<string, unknown>;
}
interface Expected {
  after: number;
  correlation: string;
  group: Record<string, unknown>;
  lines: number[] | string;
}
interface Case {
  name: string;
  rules: string;
  events: CaseEvent[];
  expect: Expected[];
}

const file = path.resolve(__dirname, '../../test-data/correlation-cases.yml');
const cases = parse(readFileSync(file, 'utf8')) as Case[];
const EPOCH = Date.parse('2026-01-01T00:00:00Z');

function fill(v: unknown, i: number): unknown {
  if (typeof v === 'string') return v.replaceAll('{i}', String(i));
  if (Array.isArray(v)) return v.map((x) => fill(x, i));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, i)]));
  return v;
}

function expand(events: CaseEvent[]): Record<string, unknown>[] {
  return events.flatMap((e) =>
    Array.from({ length: e.repeat ?? 1 }, (_, i) => ({
      '@timestamp': new Date(EPOCH + (e.at + i * (e.every ?? 0)) * 1000).toISOString(),
      ...(fill(e.event, i) as Record<string, unknown>),
    })),
  );
}

function lineList(l: number[] | string): number[] {
  if (Array.isArray(l)) return l;
  const [a, b] = l.split('-').map(Number) as [number, number];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

describe('correlation conformance cases (spec examples)', () => {
  it('has cases for all seven correlation types', () => {
    const types = new Set(cases.flatMap((c) => [...c.rules.matchAll(/type: (\w+)/g)].map((m) => m[1])));
    expect([...types].sort()).toEqual(
      [
        'event_count',
        'temporal',
        'temporal_ordered',
        'value_avg',
        'value_count',
        'value_percentile',
        'value_sum',
      ].sort(),
    );
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { rules, errors } = loadRulesFromText(c.rules, `${c.name}.yml`);
    expect(errors).toEqual([]);
    const correlation = new CorrelationEngine(
      rules.filter((r) => r.kind === 'correlation'),
      rules,
    );
    expect(correlation.errors).toEqual([]);
    const set = compileRules(rules);
    expect(set.errors).toEqual([]);
    const stream = new StreamMatcher(set, correlation);
    const fired: (CorrelationLine & { after: number })[] = [];
    expand(c.events).forEach((e, i) => {
      for (const x of stream.push(e, i + 1).correlations) fired.push({ after: i + 1, ...x });
    });
    expect(fired).toEqual(
      c.expect.map((x) => ({
        after: x.after,
        correlation: x.correlation,
        group: x.group,
        lines: lineList(x.lines),
      })),
    );
  });
});
