import type { SigmaRule } from '../model';

export interface CorrelationOptions {
  /**
   * How far behind the newest event of a group (beyond the timespan) an event may arrive and still count.
   * Older events are dropped and counted in `lateDropped`. Default 0: only in-window reordering.
   */
  allowedLatenessMs?: number;
  /** Group keys kept per correlation; the least recently updated group is evicted past it. Default 10,000. */
  maxGroupsPerRule?: number;
  /** Events kept per group; the oldest is evicted past it (counts then undercount). Default 10,000. */
  maxEventsPerGroup?: number;
  /** Event references carried in one hit; the most recent are kept. Default 1,000. */
  maxRefsPerHit?: number;
}

/** A group value as the engine keys it: scalars in Sigma's string form, `null` when the field is absent. */
export type GroupValue = string | null;

export interface CorrelationHit {
  rule: SigmaRule;
  /** JSON array of the group values in `group-by` order; with the rule id and window start, the hit identity. */
  groupKey: string;
  group: Record<string, GroupValue>;
  /** Time of the earliest event inside the window that fired. */
  windowStartMs: number;
  /** Event time that completed the window (the window is [windowEndMs − timespan, windowEndMs]). */
  windowEndMs: number;
  /** References of the events in the window, oldest first (chained hits carry their inner events). */
  eventRefs: string[];
  /** The aggregate the condition was tested on: count, distinct count, rule count, sum, average, percentile. */
  value: number;
  /**
   * Whether the detector should raise an alert for this hit. False for an intermediate correlation of a
   * chain unless a correlation that references it sets `generate: true`.
   */
  alert: boolean;
}

export interface CorrelationRuleStats {
  hits: number;
  lateDropped: number;
  groupEvictions: number;
  groupsExpired: number;
  entryEvictions: number;
  /** value_sum/avg/percentile events whose field was absent or not a number, so they could not count. */
  valueMissing: number;
  groups: number;
}

/** One stored event of a group: [event time, index into `rules`, aggregated value, event references]. */
export type StoredEntry = [number, number, string | number | null, string[]];

export interface StoredGroup {
  key: string;
  group: Record<string, GroupValue>;
  watermark: number;
  /** Window end times of recent hits; a window overlapping one of them belongs to that hit's episode. */
  fired: number[];
  entries: StoredEntry[];
}

export interface StoredRule {
  id: string;
  /** `SigmaRule.version`: state of a rule whose content changed is discarded on restore. */
  version: string;
  watermark: number;
  /** Least recently updated first, so restore rebuilds the same eviction order. */
  groups: StoredGroup[];
  stats: Omit<CorrelationRuleStats, 'groups'>;
}

/** JSON-serializable engine state (for a NATS KV bucket); restore it with `CorrelationEngine.restore`. */
export interface CorrelationState {
  format: 'citysoc.correlation/1';
  invalidTime: number;
  rules: StoredRule[];
}
