import { type CorrelationRuleStats } from '@citysoc/sigma';
import { Gauge, type Registry } from 'prom-client';
import { OTHER_RULES } from './rule-metrics';

/** One correlation engine's statistics (`CorrelationEngine.stats`): the main one, or a partition's. */
export interface CorrelationStatsSource {
  rules: Record<string, CorrelationRuleStats>;
}

export interface CorrelationRow {
  id: string;
  /** Groups holding a window in progress. */
  groups: number;
  /** Times the correlation fired. */
  fired: number;
  /** Events older than the group's window plus the allowed lateness: not counted. */
  lateDropped: number;
}

/**
 * Per-correlation rows summed over the engines this replica runs (its own and every partition it owns),
 * with bounded cardinality: the `top` rules with the most groups, then the most firings, by id; the rest
 * summed under `_other`. The counts travel with the saved state, so they cover the windows' history, not
 * this process's: a partition that moves away takes its counts along (hence gauges, not counters).
 */
export function correlationRows(sources: readonly CorrelationStatsSource[], top: number): CorrelationRow[] {
  const byId = new Map<string, CorrelationRow>();
  for (const s of sources) {
    for (const [id, st] of Object.entries(s.rules)) {
      let row = byId.get(id);
      if (!row) byId.set(id, (row = { id, groups: 0, fired: 0, lateDropped: 0 }));
      row.groups += st.groups;
      row.fired += st.hits;
      row.lateDropped += st.lateDropped;
    }
  }
  const sorted = [...byId.values()].sort(
    (a, b) => b.groups - a.groups || b.fired - a.fired || a.id.localeCompare(b.id),
  );
  const rows = sorted.slice(0, top);
  const rest = sorted.slice(top);
  if (rest.length > 0) {
    const other: CorrelationRow = { id: OTHER_RULES, groups: 0, fired: 0, lateDropped: 0 };
    for (const r of rest) {
      other.groups += r.groups;
      other.fired += r.fired;
      other.lateDropped += r.lateDropped;
    }
    rows.push(other);
  }
  return rows;
}

/** Correlation statistics as gauges, read at scrape time from `sources` (labelled by rule_id). */
export function registerCorrelationMetrics(
  registry: Registry,
  sources: () => readonly CorrelationStatsSource[],
  top: number,
): void {
  const gauge = (name: string, help: string, pick: (r: CorrelationRow) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['rule_id'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of correlationRows(sources(), top)) this.set({ rule_id: r.id }, pick(r));
      },
    });
  };
  gauge(
    'citysoc_detector_correlation_groups_active',
    'Correlation groups holding a window in progress (this replica: its own engine and its partitions)',
    (r) => r.groups,
  );
  gauge(
    'citysoc_detector_correlations_fired',
    'Times a correlation fired, as counted in its saved state (survives restarts; moves with a partition)',
    (r) => r.fired,
  );
  gauge(
    'citysoc_detector_correlation_late_dropped',
    'Events a correlation dropped as later than its window plus the allowed lateness',
    (r) => r.lateDropped,
  );
}
