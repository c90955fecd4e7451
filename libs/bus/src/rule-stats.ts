/**
 * Per-rule cost shared by the detector replicas with the API: each replica puts a snapshot of its running
 * rule set's counters under its own key of the `<prefix>rule-stats` KV bucket every few seconds; the API
 * adds up the fresh snapshots. Counters count from when that replica loaded its rules (a reload restarts
 * them), which each snapshot says in `since`.
 */
export const RULE_STATS_BUCKET = 'rule-stats';

export interface RuleCost {
  id: string;
  evaluations: number;
  matches: number;
  /** Estimated matching time (sampled evaluations, scaled). */
  seconds: number;
}

export interface RuleStatsSnapshot {
  instance: string;
  /** When this replica's counters started (its rule set was loaded). */
  since: string;
  at: string;
  /** How often the replica publishes: a snapshot older than 3 intervals belongs to a stopped replica. */
  interval_ms: number;
  events: number;
  rules: RuleCost[];
}

export interface CombinedRuleStats {
  instances: number;
  /** Earliest start among the fresh snapshots. */
  since: string | null;
  at: string | null;
  events: number;
  rules: Map<string, RuleCost>;
}

/** KV keys allow [-/_=.a-zA-Z0-9]: a replica id like `host:1234` becomes `host_1234`. */
export function ruleStatsKey(instance: string): string {
  return instance.replace(/[^-_=.a-zA-Z0-9]/g, '_').slice(0, 200) || 'detector';
}

/** Sums fresh snapshots per rule id; stale ones (their replica stopped) and malformed ones are left out. */
export function combineRuleStats(snapshots: unknown[], nowMs: number): CombinedRuleStats {
  const rules = new Map<string, RuleCost>();
  let instances = 0;
  let since: number | null = null;
  let at: number | null = null;
  let events = 0;
  for (const s of snapshots) {
    if (!isSnapshot(s)) continue;
    const atMs = Date.parse(s.at);
    if (!(nowMs - atMs <= 3 * s.interval_ms)) continue;
    instances++;
    events += s.events;
    const sinceMs = Date.parse(s.since);
    since = since === null ? sinceMs : Math.min(since, sinceMs);
    at = at === null ? atMs : Math.max(at, atMs);
    for (const r of s.rules) {
      const cur = rules.get(r.id) ?? { id: r.id, evaluations: 0, matches: 0, seconds: 0 };
      cur.evaluations += r.evaluations;
      cur.matches += r.matches;
      cur.seconds += r.seconds;
      rules.set(r.id, cur);
    }
  }
  return {
    instances,
    since: since === null ? null : new Date(since).toISOString(),
    at: at === null ? null : new Date(at).toISOString(),
    events,
    rules,
  };
}

function isSnapshot(s: unknown): s is RuleStatsSnapshot {
  if (!s || typeof s !== 'object') return false;
  const o = s as Partial<RuleStatsSnapshot>;
  return (
    typeof o.at === 'string' &&
    !Number.isNaN(Date.parse(o.at)) &&
    typeof o.since === 'string' &&
    !Number.isNaN(Date.parse(o.since)) &&
    typeof o.interval_ms === 'number' &&
    o.interval_ms > 0 &&
    typeof o.events === 'number' &&
    Array.isArray(o.rules) &&
    o.rules.every(
      (r: Partial<RuleCost>) =>
        typeof r?.id === 'string' &&
        typeof r.evaluations === 'number' &&
        typeof r.matches === 'number' &&
        typeof r.seconds === 'number',
    )
  );
}
