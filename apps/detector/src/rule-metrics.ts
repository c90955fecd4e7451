import { type RuleSetStats } from '@citysoc/sigma';

export interface RuleCostRow {
  id: string;
  evaluations: number;
  matches: number;
  seconds: number;
}

/** Label of the row that sums every rule outside the top N. */
export const OTHER_RULES = '_other';

/**
 * Per-rule cost rows with bounded cardinality: the `top` costliest rules (by estimated time, then
 * evaluations) by id, everything else summed into one `_other` row, so thousands of rules stay a few
 * dozen series.
 */
export function ruleCostRows(stats: RuleSetStats, top: number): RuleCostRow[] {
  const sorted = [...stats.rules].sort(
    (a, b) => b.estimatedNs - a.estimatedNs || b.evaluations - a.evaluations || a.id.localeCompare(b.id),
  );
  const rows: RuleCostRow[] = sorted.slice(0, top).map((r) => ({
    id: r.id,
    evaluations: r.evaluations,
    matches: r.matches,
    seconds: r.estimatedNs / 1e9,
  }));
  const rest = sorted.slice(top);
  if (rest.length > 0) {
    const other: RuleCostRow = { id: OTHER_RULES, evaluations: 0, matches: 0, seconds: 0 };
    for (const r of rest) {
      other.evaluations += r.evaluations;
      other.matches += r.matches;
      other.seconds += r.estimatedNs / 1e9;
    }
    rows.push(other);
  }
  return rows;
}
