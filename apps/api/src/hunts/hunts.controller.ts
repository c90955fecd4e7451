import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  HttpCode,
  Inject,
  NotFoundException,
  Post,
  Req,
  UnprocessableEntityException,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { type KvBuckets } from '@citysoc/bus';
import {
  DRILL_LABEL,
  DRILL_RUNS_BUCKET,
  type DetectionExpectation,
  DrillRunRegistry,
  loadScenario,
  type Scenario,
} from '@citysoc/drills';
import {
  type CompiledPipeline,
  findPipeline,
  loadPipelineFile,
  loadRulesFromText,
  PIPELINES_DIR,
  pipelineCompileOptions,
  type SigmaRule,
} from '@citysoc/sigma';
import { type EventStore, HuntError, type HuntOptions, type HuntResult, retroHunt } from '@citysoc/store';
import { type AuthedRequest, Roles, scopeOf } from '../auth/roles';
import { type ConfigOf, projectRoot } from '@citysoc/config';
import { type apiSchema } from '../config';
import { API_CONFIG, EVENT_STORE, KV_BUCKETS } from '../tokens';
import { DrillBlindInterceptor, seesDrills } from '../drills/blind';
import { sharedRuleSet } from '../rules/rule-sets';

/** A drill scenario's detection expectation, hunted over history (optionally only one run's events). */
export class DrillExpectationRef {
  @ApiProperty({ description: 'Scenario id (a file in drills/)', example: 'fortigate-policy-tamper' })
  @Matches(/^[a-z0-9][a-z0-9-]{0,99}$/)
  scenario!: string;

  @ApiProperty({ description: 'Id of one of its expect.detections', example: 'external-admin-login' })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/)
  expectation!: string;

  @ApiPropertyOptional({
    description:
      'A registered run of that scenario: only its events, over its window unless from/to are given',
  })
  @IsOptional()
  @Matches(/^d-[A-Za-z0-9]{4,32}$/)
  run_id?: string;
}

export class HuntRequest {
  @ApiPropertyOptional({ description: 'A Sigma rule as YAML (one detection rule)' })
  @IsOptional()
  @IsString()
  @MaxLength(100_000)
  rule?: string;

  @ApiPropertyOptional({ description: 'Or the id (or name) of a loaded rule' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  rule_id?: string;

  @ApiPropertyOptional({ description: "Or a drill scenario's detection expectation (its rule is hunted)" })
  @IsOptional()
  @ValidateNested()
  @Type(() => DrillExpectationRef)
  drill?: DrillExpectationRef;

  @ApiPropertyOptional({
    description: 'Apply the loaded Sigma filter documents that target the rule, as the detector does',
    default: true,
  })
  @IsOptional()
  @IsBoolean()
  apply_filters?: boolean;

  @ApiPropertyOptional({ description: 'Inclusive start, ISO 8601' })
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional({ description: 'Exclusive end, ISO 8601' })
  @IsOptional()
  @IsISO8601()
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  max_matches?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 1_000_000, default: 100_000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_scanned?: number;
}

@ApiTags('hunts')
@ApiBearerAuth()
@Controller('api/v1/hunts')
@UseInterceptors(DrillBlindInterceptor)
export class HuntsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(API_CONFIG) private readonly config: ConfigOf<typeof apiSchema>,
    @Inject(KV_BUCKETS) private readonly buckets: KvBuckets,
  ) {}

  /**
   * POST because it runs work on the caller's behalf: the audit interceptor records who hunted what. The
   * hunt covers the caller's unit subtree only, like event search.
   */
  @Post()
  @HttpCode(200)
  @Roles('analyst', 'lead', 'controller')
  @ApiOperation({
    summary:
      "Run a Sigma rule (YAML, rule id, or a drill expectation's rule) over stored events: a retro-hunt",
  })
  async hunt(
    @Body() b: HuntRequest,
    @Req() req: AuthedRequest,
  ): Promise<HuntResult & { drill?: DrillHuntInfo }> {
    const given = [b.rule, b.rule_id, b.drill].filter((x) => x !== undefined).length;
    if (given !== 1) throw new BadRequestException('give exactly one of rule (YAML), rule_id or drill');
    // Hunting one run's events selects by labels.drill: the blind-mode leak events search refuses too.
    if (b.drill?.run_id !== undefined && !seesDrills(req))
      throw new ForbiddenException("hunting a drill run's events is for drill controllers only");
    if (b.from && b.to && Date.parse(b.from) >= Date.parse(b.to))
      throw new BadRequestException('from must be before to');
    // Parsed once per change of the rule folders, not per hunt (thousands of files).
    const loaded = sharedRuleSet([this.config.builtinRules, ...this.config.rulePaths]).get().rules;
    let rule: SigmaRule;
    let filters: SigmaRule[] = loaded.filter((r) => r.kind === 'filter');
    let range: { from?: string; to?: string } = {
      ...(b.from ? { from: b.from } : {}),
      ...(b.to ? { to: b.to } : {}),
    };
    let drill: DrillHuntInfo | undefined;
    if (b.rule !== undefined) {
      const parsed = this.parse(b.rule);
      rule = parsed.rule;
      filters = [...filters, ...parsed.filters];
    } else if (b.rule_id !== undefined) rule = this.find(loaded, b.rule_id);
    else {
      const d = await this.drillExpectation(b.drill as DrillExpectationRef);
      rule = this.find(loaded, d.expectation.rule.id);
      drill = d.info;
      if (d.window) range = { from: b.from ?? d.window.from, to: b.to ?? d.window.to };
    }
    if (b.apply_filters === false) filters = [];
    const scope = scopeOf(req);
    try {
      const result = await retroHunt(
        this.store,
        rule,
        { ...range, ...(scope !== undefined ? { scope } : {}) },
        {
          ...this.pipelineOptions(),
          filters,
          ...(drill?.run_id ? { only: { field: `labels.${DRILL_LABEL}`, value: drill.run_id } } : {}),
          maxMatches: b.max_matches ?? 100,
          maxScanned: b.max_scanned ?? 100_000,
        },
      );
      req.auditDetail = {
        rule: rule.id,
        ...range,
        ...(scope !== undefined ? { scope } : {}),
        ...(drill
          ? { drill: { scenario: drill.scenario, expectation: drill.expectation, run: drill.run_id } }
          : {}),
        matches: result.matches.length,
      };
      if (!drill) return result;
      // A verdict only where it means something: one run's events, all of them read.
      if (drill.run_id && result.truncated === false && !result.notApplicable) {
        const n = result.matches.length;
        drill.met = n >= drill.min && (drill.max === undefined || n <= drill.max);
      }
      return { ...result, drill };
    } catch (e) {
      if (e instanceof HuntError) throw new UnprocessableEntityException(e.message);
      throw e;
    }
  }

  private scenarios?: Map<string, { scenario: Scenario; sha256: string }>;

  /** The shipped scenarios (drills/), loaded once; a file with problems is left out, as the runner refuses it. */
  private scenario(id: string): { scenario: Scenario; sha256: string } | undefined {
    if (!this.scenarios) {
      this.scenarios = new Map();
      const dir = path.join(projectRoot(), 'drills');
      for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x))) {
        const l = loadScenario(readFileSync(path.join(dir, f), 'utf8'), f);
        if (l.scenario && l.problems.length === 0)
          this.scenarios.set(l.scenario.id, { scenario: l.scenario, sha256: l.sha256 });
      }
    }
    return this.scenarios.get(id);
  }

  private async runs(): Promise<DrillRunRegistry> {
    return DrillRunRegistry.fromKv(await this.buckets.get(DRILL_RUNS_BUCKET));
  }

  private async drillExpectation(ref: DrillExpectationRef): Promise<{
    expectation: DetectionExpectation;
    info: DrillHuntInfo;
    window?: { from: string; to: string };
  }> {
    const found = this.scenario(ref.scenario);
    if (!found) throw new NotFoundException(`no drill scenario ${ref.scenario}`);
    const exp = (found.scenario.expect.detections ?? []).find((d) => d.id === ref.expectation);
    if (!exp)
      throw new NotFoundException(`scenario ${ref.scenario} has no detection expectation ${ref.expectation}`);
    const info: DrillHuntInfo = {
      scenario: ref.scenario,
      expectation: exp.id,
      rule: exp.rule.id,
      step: exp.step,
      min: exp.min ?? 1,
      ...(exp.max !== undefined ? { max: exp.max } : {}),
      warnings: [],
    };
    if (!ref.run_id) return { expectation: exp, info };
    const run = await (await this.runs()).get(ref.run_id);
    if (!run) throw new NotFoundException(`drill run ${ref.run_id} not found`);
    if (run.scenario !== ref.scenario)
      throw new ConflictException(
        `drill run ${ref.run_id} ran scenario ${run.scenario}, not ${ref.scenario}`,
      );
    info.run_id = run.runId;
    if (run.scenarioSha256 !== found.sha256)
      info.warnings.push(
        'the scenario file changed since the run: the expectation may differ from the one scored',
      );
    return { expectation: exp, info, window: { from: run.window.start, to: run.window.end } };
  }

  private pipeline?: CompiledPipeline;

  /** The detector's shipped processing pipeline, so a hunt selects and names fields as detection does. */
  private pipelineOptions(): Pick<HuntOptions, 'logsource' | 'compile' | 'logsourceSelections'> {
    if (!this.pipeline) {
      const dir = path.join(projectRoot(), 'rules', PIPELINES_DIR);
      const file = findPipeline('citysoc', [dir]);
      if (!file) throw new Error(`processing pipeline "citysoc" not found in ${dir}`);
      const loaded = loadPipelineFile(file);
      if (!loaded.pipeline)
        throw new Error(loaded.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('; '));
      this.pipeline = loaded.pipeline;
    }
    const o = pipelineCompileOptions(this.pipeline);
    return { logsource: o.logsource, logsourceSelections: o.eventsFor, compile: { fieldsFor: o.fieldsFor } };
  }

  /** One detection rule, and any filter documents given with it (they join the loaded ones). */
  private parse(yaml: string): { rule: SigmaRule; filters: SigmaRule[] } {
    const { rules, errors } = loadRulesFromText(yaml, 'request.yml', {
      includeStatuses: { deprecated: true, unsupported: true },
    });
    if (errors.length > 0)
      throw new BadRequestException({
        message: 'the rule does not load',
        errors: errors.map((e) => ({ line: e.line, code: e.code, message: e.message })),
      });
    const detection = rules.filter((r) => r.kind === 'detection');
    const filters = rules.filter((r) => r.kind === 'filter');
    if (detection.length !== 1 || detection.length + filters.length !== rules.length)
      throw new BadRequestException(
        `expected one detection rule (and optionally filter documents), got ${rules.length} documents`,
      );
    return { rule: detection[0] as SigmaRule, filters };
  }

  private find(rules: SigmaRule[], id: string): SigmaRule {
    const rule = rules.find((r) => r.kind !== 'filter' && (r.id === id || r.name === id));
    if (!rule) throw new NotFoundException(`no loaded rule with id or name ${id}`);
    return rule;
  }
}

/** What a hunt for a drill expectation adds to the answer. */
export interface DrillHuntInfo {
  scenario: string;
  expectation: string;
  rule: string;
  step: string;
  min: number;
  max?: number;
  run_id?: string;
  /** With a run: whether the run's events hold between min and max matches (absent when it cannot say). */
  met?: boolean;
  warnings: string[];
}
