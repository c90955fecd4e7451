import { type CorrelationEngine } from './correlation';
import { type CompiledRuleSet } from './ruleset';

/** The CLI's correlation output line: the rule, its group, and the input lines of the events it counted. */
export interface CorrelationLine {
  correlation: string;
  group: Record<string, unknown>;
  lines: number[];
}

/**
 * Matches a stream of events in order, feeding correlations on event time (`@timestamp`, ISO text or epoch
 * milliseconds); an event without a readable time takes the time of the event before it, so windows still
 * follow input order. Shared by `citysoc rules match` and the correlation conformance cases, so the cases
 * test exactly what the CLI prints.
 */
export class StreamMatcher {
  private lastTime = 0;

  constructor(
    private readonly set: CompiledRuleSet,
    private readonly correlation: CorrelationEngine | undefined,
  ) {}

  push(event: Record<string, unknown>, line: number): { matches: string[]; correlations: CorrelationLine[] } {
    const matches = this.set.match(event).map((m) => m.rule.id);
    if (!this.correlation || matches.length === 0) return { matches, correlations: [] };
    const ts = event['@timestamp'];
    const t = typeof ts === 'string' ? Date.parse(ts) : typeof ts === 'number' ? ts : NaN;
    if (!Number.isNaN(t)) this.lastTime = t;
    const hits = this.correlation.observe(event, this.lastTime, matches, String(line));
    return {
      matches,
      correlations: hits.map((h) => ({
        correlation: h.rule.id,
        group: h.group,
        lines: h.eventRefs.map(Number),
      })),
    };
  }
}
