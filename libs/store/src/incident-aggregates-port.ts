import { type Severity } from '@citysoc/ecs';
import { type IncidentStatus, type SlaKind } from '@citysoc/incidents';

/** A unit scope (see incident-port.ts); repeated here so this port does not import the other one. */
type Scope = string | undefined;

/** Incidents per key. */
export interface CountRow {
  key: string;
  incidents: number;
}

/** Incidents and their summed alerts per key. */
export interface VolumeRow {
  key: string;
  incidents: number;
  alerts: number;
}

/** What the console dashboard shows from incidents (the detection-latency sample comes from the alerts). */
export interface IncidentDashboard {
  /** Queue depth by status, drills included (the work on the desk; blind mode keeps drills in it). */
  by_status: Array<{ key: IncidentStatus; count: number }>;
  /** Open incidents whose next deadline (acknowledge while new, else resolve) is before `dueBefore`. */
  breaching_soon: number;
  /** Real incidents created since `since`, and those with at least one recorded breach. */
  sla: { incidents: number; breached: number };
  /** Real incidents last seen since `since`: the 20 keys with most alerts (then key ascending). */
  by_severity: VolumeRow[];
  /** `key` is the unit path, '' for incidents with no unit. */
  by_unit: VolumeRow[];
  by_rule: VolumeRow[];
}

/** Incidents per unit path in scope (drills included: an operational view with open work per unit). */
export interface UnitIncidentRow {
  /** '' for incidents with no unit. */
  path: string;
  /** The greatest unit name seen with the path (names may change; SQL MAX). */
  name: string | null;
  incidents: number;
  open: number;
  /** Incidents with at least one recorded SLA breach. */
  breached: number;
}

/** Real incidents per rule id (an incident counts once for each rule it carries). */
export interface RuleIncidentStats {
  rule_id: string;
  incidents: number;
  alerts: number;
  false_positive: number;
  /** resolved, false_positive or duplicate. */
  closed: number;
  /** Epoch milliseconds of the latest last_seen. */
  last_seen: number | null;
  /** The greatest title among its incidents (SQL MAX). */
  title: string | null;
}

/** ATT&CK tags of the incidents in scope (drills included: the drill layer is part of the ATT&CK page). */
export interface IncidentMitreCounts {
  tactics: CountRow[];
  techniques: CountRow[];
  /** Every (tactic, technique) pair that one incident carries together, with how many incidents do. */
  pairs: Array<{ tactic: string; technique: string; incidents: number }>;
}

/** Recorded SLA breaches of one kind on incidents of one severity. */
export interface SlaBreachCount {
  kind: SlaKind;
  severity: Severity;
  n: number;
}

/**
 * The statistics views need over incidents, as store queries: SQL on SQLite, aggregations on
 * Elasticsearch, so the console and the metrics show the same figures whichever store holds incidents.
 * Real incidents are those the shared drill filter (libs/drills isDrill) does not call drills; each method
 * says whether it keeps drills. Every list is sorted as documented, so both stores answer identically (the
 * aggregates contract suite holds them to it).
 */
export interface IncidentAggregates {
  incidentDashboard(q: { scope: Scope; since: number; dueBefore: number }): Promise<IncidentDashboard>;
  /** Sorted by path. */
  incidentUnits(scope: Scope): Promise<UnitIncidentRow[]>;
  /** Real incidents only; sorted by alerts descending then rule id; at most `limit` rows when given. */
  incidentRuleStats(scope: Scope, limit?: number): Promise<RuleIncidentStats[]>;
  /** Sorted by key (pairs by tactic then technique). */
  incidentMitre(scope: Scope): Promise<IncidentMitreCounts>;
  /** City-wide, real and drill incidents apart; sorted by kind then severity. */
  slaBreachCounts(): Promise<{ real: SlaBreachCount[]; drill: SlaBreachCount[] }>;
}
