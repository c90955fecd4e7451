import {
  type IncidentAggregates,
  type IncidentDashboard,
  type IncidentMitreCounts,
  type RuleIncidentStats,
  type SlaBreachCount,
  type UnitIncidentRow,
  type VolumeRow,
} from '../incident-aggregates-port';
import { type UnitScope } from '../incident-port';
import { type Db } from './db';
import { drillIncidentsSql, REAL_INCIDENTS_SQL, realIncidentsSql, scopeClause } from './incident-sql';

const OPEN = "status IN ('new','acknowledged','in_progress')";
/** The deadline an open incident answers to next: acknowledge while new (else resolve), resolve after. */
const DUE_SQL = `(CASE WHEN status = 'new' THEN COALESCE(json_extract(sla, '$.acknowledge_due'), json_extract(sla, '$.resolve_due'))
  WHEN ${OPEN} THEN json_extract(sla, '$.resolve_due') END)`;
const BREACHED = "json_array_length(sla, '$.breaches') > 0";

/**
 * The statistics of the console and the metrics as SQL on the incidents table (the reference semantics of
 * IncidentAggregates). The drill filter is the shared one (citysoc_is_drill, registered by the control
 * store and by SqliteIncidentStore).
 */
export class SqliteIncidentAggregates implements IncidentAggregates {
  constructor(private readonly db: Db) {}

  async incidentDashboard(q: {
    scope: UnitScope;
    since: number;
    dueBefore: number;
  }): Promise<IncidentDashboard> {
    const sc = scopeClause(q.scope);
    const byStatus = this.db
      .prepare(
        `SELECT status AS key, COUNT(*) AS count FROM incidents WHERE ${sc.sql} GROUP BY status ORDER BY status`,
      )
      .all(...sc.args) as IncidentDashboard['by_status'];
    const volume = (key: string, from = 'incidents') =>
      this.db
        .prepare(
          `SELECT ${key} AS key, COUNT(*) AS incidents, SUM(alert_count) AS alerts FROM ${from}
           WHERE ${sc.sql} AND ${REAL_INCIDENTS_SQL} AND last_seen >= ? GROUP BY ${key}
           ORDER BY alerts DESC, key ASC LIMIT 20`,
        )
        .all(...sc.args, q.since) as VolumeRow[];
    const withDeadline = this.db
      .prepare(
        `SELECT COUNT(*) AS n, SUM(CASE WHEN ${BREACHED} THEN 1 ELSE 0 END) AS breached
         FROM incidents WHERE ${sc.sql} AND ${REAL_INCIDENTS_SQL} AND created_at >= ?`,
      )
      .get(...sc.args, q.since) as { n: number; breached: number | null };
    const soon = this.db
      .prepare(`SELECT COUNT(*) AS n FROM incidents WHERE ${sc.sql} AND ${OPEN} AND ${DUE_SQL} < ?`)
      .get(...sc.args, q.dueBefore) as { n: number };
    return {
      by_status: byStatus,
      breaching_soon: soon.n,
      sla: { incidents: withDeadline.n, breached: withDeadline.breached ?? 0 },
      by_severity: volume('severity'),
      by_unit: volume("COALESCE(unit_path, '')"),
      by_rule: volume('j.value', 'incidents, json_each(incidents.rule_ids) j'),
    };
  }

  async incidentUnits(scope: UnitScope): Promise<UnitIncidentRow[]> {
    const sc = scopeClause(scope);
    return this.db
      .prepare(
        `SELECT COALESCE(unit_path, '') AS path, MAX(unit_name) AS name, COUNT(*) AS incidents,
           SUM(CASE WHEN ${OPEN} THEN 1 ELSE 0 END) AS open,
           SUM(CASE WHEN ${BREACHED} THEN 1 ELSE 0 END) AS breached
         FROM incidents WHERE ${sc.sql} GROUP BY COALESCE(unit_path, '') ORDER BY path`,
      )
      .all(...sc.args) as UnitIncidentRow[];
  }

  async incidentRuleStats(scope: UnitScope, limit?: number): Promise<RuleIncidentStats[]> {
    const sc = scopeClause(scope);
    return this.db
      .prepare(
        `SELECT j.value AS rule_id, COUNT(*) AS incidents, SUM(alert_count) AS alerts,
           SUM(CASE WHEN status = 'false_positive' THEN 1 ELSE 0 END) AS false_positive,
           SUM(CASE WHEN status IN ('resolved','false_positive','duplicate') THEN 1 ELSE 0 END) AS closed,
           MAX(last_seen) AS last_seen, MAX(title) AS title
         FROM incidents, json_each(incidents.rule_ids) j WHERE ${sc.sql} AND ${REAL_INCIDENTS_SQL}
         GROUP BY j.value ORDER BY alerts DESC, rule_id ASC LIMIT ?`,
      )
      .all(...sc.args, limit ?? -1) as RuleIncidentStats[];
  }

  async incidentMitre(scope: UnitScope): Promise<IncidentMitreCounts> {
    const sc = scopeClause(scope);
    const per = (path: string) =>
      this.db
        .prepare(
          `SELECT j.value AS key, COUNT(*) AS incidents FROM incidents, json_each(incidents.mitre, '${path}') j
           WHERE ${sc.sql} GROUP BY j.value ORDER BY key`,
        )
        .all(...sc.args) as IncidentMitreCounts['tactics'];
    const pairs = this.db
      .prepare(
        `SELECT t.value AS tactic, q.value AS technique, COUNT(*) AS incidents
         FROM incidents, json_each(incidents.mitre, '$.tactics') t, json_each(incidents.mitre, '$.techniques') q
         WHERE ${sc.sql} GROUP BY t.value, q.value ORDER BY tactic, technique`,
      )
      .all(...sc.args) as IncidentMitreCounts['pairs'];
    return { tactics: per('$.tactics'), techniques: per('$.techniques'), pairs };
  }

  async slaBreachCounts(): Promise<{ real: SlaBreachCount[]; drill: SlaBreachCount[] }> {
    const breaches = (where: string) =>
      this.db
        .prepare(
          `SELECT json_extract(b.value, '$.kind') AS kind, i.severity AS severity, COUNT(*) AS n
           FROM incidents i, json_each(i.sla, '$.breaches') b WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`,
        )
        .all() as SlaBreachCount[];
    return { real: breaches(realIncidentsSql('i')), drill: breaches(drillIncidentsSql('i')) };
  }
}
