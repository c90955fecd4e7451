import { Controller, Get, Inject, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type ConfigOf } from '@citysoc/config';
import { type ControlStore, REAL_INCIDENTS_SQL } from '@citysoc/store';
import { type AuthedRequest, READERS, Roles, scopeOf } from '../auth/roles';
import { type apiSchema } from '../config';
import { API_CONFIG, CONTROL_STORE } from '../tokens';
import { scopeClause } from './queue-query';
import { type CatalogRule, type GridTechnique, RuleCatalog, techniqueGrid } from './rule-catalog';

interface RuleStats {
  rule_id: string;
  incidents: number;
  alerts: number;
  false_positive: number;
  closed: number;
  /** Epoch milliseconds, as the incidents table stores it. */
  last_seen: number | null;
  title: string | null;
}

export interface RuleRow extends Omit<CatalogRule, 'file'> {
  file: string | null;
  /** On disk (false: it raised incidents but its file is gone or failed to load). */
  on_disk: boolean;
  incidents: number;
  alerts: number;
  false_positive: number;
  closed: number;
  /** False positives among closed incidents, 0–1; null before any closed incident. */
  fp_rate: number | null;
  last_seen: string | null;
}

/** The rules on disk joined with what they raised in the caller's scope; ATT&CK coverage from both. */
@ApiTags('console')
@ApiBearerAuth()
@Controller('api/v1/console')
export class RulesAttackController {
  private readonly catalog: RuleCatalog;

  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(API_CONFIG) config: ConfigOf<typeof apiSchema>,
  ) {
    this.catalog = new RuleCatalog([config.builtinRules, ...config.rulePaths]);
  }

  @Get('rule-catalog')
  @Roles(...READERS)
  @ApiOperation({
    summary:
      'Every rule on disk (status, level, enabled, ATT&CK) with incidents, alerts and false-positive rate',
  })
  rules(@Req() req: AuthedRequest): {
    items: RuleRow[];
    errors: Array<{ file: string; message: string }>;
    loaded_at: string;
  } {
    const cat = this.catalog.get();
    const stats = new Map(this.stats(scopeOf(req)).map((s) => [s.rule_id, s]));
    const items: RuleRow[] = cat.rules.map((r) => withStats({ ...r, on_disk: true }, stats.get(r.id)));
    const known = new Set(cat.rules.map((r) => r.id));
    for (const s of stats.values())
      if (!known.has(s.rule_id))
        items.push(
          withStats(
            {
              id: s.rule_id,
              title: s.title ?? s.rule_id,
              level: '',
              status: null,
              kind: 'detection',
              enabled: false,
              reason: null,
              tactics: [],
              techniques: [],
              file: null,
              on_disk: false,
            },
            s,
          ),
        );
    items.sort((a, b) => b.alerts - a.alerts || a.title.localeCompare(b.title));
    return { items, errors: cat.errors, loaded_at: cat.loaded_at };
  }

  @Get('attack/grid')
  @Roles(...READERS)
  @ApiOperation({
    summary: 'ATT&CK techniques per tactic: enabled rules (coverage) and incidents seen in your scope',
  })
  grid(@Req() req: AuthedRequest): {
    tactics: Array<{ key: string; techniques: GridTechnique[] }>;
    unplaced: GridTechnique[];
  } {
    const sc = scopeClause(scopeOf(req));
    const rows = this.control.db
      .prepare(`SELECT mitre FROM incidents WHERE ${sc.sql}`)
      .all(...sc.args) as Array<{ mitre: string }>;
    const incidents = rows.map((r) => {
      const m = JSON.parse(r.mitre) as { tactics?: string[]; techniques?: string[] };
      return { tactics: m.tactics ?? [], techniques: m.techniques ?? [] };
    });
    return techniqueGrid(this.catalog.get().rules, incidents);
  }

  private stats(scope: string | undefined): RuleStats[] {
    const sc = scopeClause(scope);
    return this.control.db
      .prepare(
        `SELECT j.value AS rule_id, COUNT(*) AS incidents, SUM(alert_count) AS alerts,
           SUM(CASE WHEN status = 'false_positive' THEN 1 ELSE 0 END) AS false_positive,
           SUM(CASE WHEN status IN ('resolved','false_positive','duplicate') THEN 1 ELSE 0 END) AS closed,
           MAX(last_seen) AS last_seen, MAX(title) AS title
         FROM incidents, json_each(incidents.rule_ids) j WHERE ${sc.sql} AND ${REAL_INCIDENTS_SQL}
         GROUP BY j.value`,
      )
      .all(...sc.args) as RuleStats[];
  }
}

function withStats(
  r: Omit<RuleRow, 'incidents' | 'alerts' | 'false_positive' | 'closed' | 'fp_rate' | 'last_seen'>,
  s?: RuleStats,
): RuleRow {
  return {
    ...r,
    incidents: s?.incidents ?? 0,
    alerts: s?.alerts ?? 0,
    false_positive: s?.false_positive ?? 0,
    closed: s?.closed ?? 0,
    fp_rate: s && s.closed > 0 ? s.false_positive / s.closed : null,
    last_seen: s?.last_seen != null ? new Date(s.last_seen).toISOString() : null,
  };
}
