import { Controller, Get, Inject, Logger, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { combineRuleStats, type CombinedRuleStats, type KvBuckets, RULE_STATS_BUCKET } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { DRILL_RUNS_BUCKET, DrillRunRegistry } from '@citysoc/drills';
import { type IncidentStore, type RuleIncidentStats } from '@citysoc/store';
import { type AuthedRequest, READERS, Roles, scopeOf } from '../auth/roles';
import { type apiSchema } from '../config';
import { API_CONFIG, INCIDENT_STORE, KV_BUCKETS } from '../tokens';
import {
  type CatalogRule,
  drillValidated,
  type GridTechnique,
  RuleCatalog,
  techniqueGrid,
  type ValidatedBy,
} from './rule-catalog';

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
  /** Cost on the detectors since their rule sets were loaded (summed over replicas); null when unknown. */
  cost: { evaluations: number; matches: number; seconds: number } | null;
}

export interface CostWindow {
  instances: number;
  since: string | null;
  at: string | null;
  events: number;
}

/** The rules on disk joined with what they raised in the caller's scope; ATT&CK coverage from both. */
@ApiTags('console')
@ApiBearerAuth()
@Controller('api/v1/console')
export class RulesAttackController {
  private readonly catalog: RuleCatalog;
  private readonly logger = new Logger('rules');

  constructor(
    @Inject(INCIDENT_STORE) private readonly incidents: IncidentStore,
    @Inject(KV_BUCKETS) private readonly buckets: KvBuckets,
    @Inject(API_CONFIG) private readonly config: ConfigOf<typeof apiSchema>,
  ) {
    this.catalog = new RuleCatalog([config.builtinRules, ...config.rulePaths]);
  }

  /** Every detector replica's latest snapshot, summed; null when NATS cannot be read (the page still shows). */
  private async ruleCost(): Promise<CombinedRuleStats | null> {
    try {
      const kv = await this.buckets.get(RULE_STATS_BUCKET);
      // Keys first: awaiting a get inside the keys iterator ends the iteration early (nats.js).
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      const values: unknown[] = [];
      for (const key of keys) {
        const e = await kv.get(key);
        if (!e || e.operation !== 'PUT') continue;
        try {
          values.push(e.json<unknown>());
        } catch {
          // A malformed snapshot is left out, like a stale one.
        }
      }
      return combineRuleStats(values, Date.now());
    } catch (err) {
      this.logger.warn(`rule cost unavailable: ${(err as Error).message}`);
      return null;
    }
  }

  private async validated(): Promise<Map<string, ValidatedBy> | null> {
    try {
      const runs = await DrillRunRegistry.fromKv(await this.buckets.get(DRILL_RUNS_BUCKET)).list();
      return drillValidated(runs);
    } catch (err) {
      this.logger.warn(`drill runs unavailable: ${(err as Error).message}`);
      return null;
    }
  }

  @Get('rule-catalog')
  @Roles(...READERS)
  @ApiOperation({
    summary:
      'Every rule on disk (status, level, enabled, ATT&CK) with incidents, alerts and false-positive rate',
  })
  async rules(@Req() req: AuthedRequest): Promise<{
    items: RuleRow[];
    errors: Array<{ file: string; message: string }>;
    loaded_at: string;
    cost: CostWindow | null;
  }> {
    const cat = this.catalog.get();
    const stats = new Map((await this.incidents.incidentRuleStats(scopeOf(req))).map((s) => [s.rule_id, s]));
    const cost = await this.ruleCost();
    const costOf = (id: string) => {
      const c = cost?.rules.get(id);
      return c ? { evaluations: c.evaluations, matches: c.matches, seconds: c.seconds } : null;
    };
    const items: RuleRow[] = cat.rules.map((r) =>
      withStats({ ...r, on_disk: true, cost: costOf(r.id) }, stats.get(r.id)),
    );
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
              cost: costOf(s.rule_id),
            },
            s,
          ),
        );
    items.sort((a, b) => b.alerts - a.alerts || a.title.localeCompare(b.title));
    return {
      items,
      errors: cat.errors,
      loaded_at: cat.loaded_at,
      cost: cost ? { instances: cost.instances, since: cost.since, at: cost.at, events: cost.events } : null,
    };
  }

  @Get('attack/grid')
  @Roles(...READERS)
  @ApiOperation({
    summary:
      'ATT&CK techniques per tactic: enabled rules (coverage), incidents seen in your scope, and drill-validated (latest finished run per scenario passed)',
  })
  async grid(@Req() req: AuthedRequest): Promise<{
    tactics: Array<{ key: string; techniques: GridTechnique[] }>;
    unplaced: GridTechnique[];
    drills_available: boolean;
  }> {
    // Counts per technique and (tactic, technique) pair, aggregated by the store (not every incident).
    const grid = techniqueGrid(this.catalog.get().rules, await this.incidents.incidentMitre(scopeOf(req)));
    const validated = await this.validated();
    const seen = new Set<string>();
    const mark = (c: GridTechnique) => {
      const v = validated?.get(c.id.toUpperCase());
      seen.add(c.id.toUpperCase());
      c.validated = v ? 1 : 0;
      if (v) c.validated_by = v;
    };
    for (const t of grid.tactics) t.techniques.forEach(mark);
    grid.unplaced.forEach(mark);
    // A technique a drill validated that no rule or incident carries still shows, apart.
    for (const [id, v] of validated ?? [])
      if (!seen.has(id)) grid.unplaced.push({ id, rules: 0, incidents: 0, validated: 1, validated_by: v });
    return { ...grid, drills_available: validated !== null };
  }
}

function withStats(
  r: Omit<RuleRow, 'incidents' | 'alerts' | 'false_positive' | 'closed' | 'fp_rate' | 'last_seen'>,
  s?: RuleIncidentStats,
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
