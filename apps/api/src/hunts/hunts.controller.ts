import path from 'node:path';
import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Inject,
  NotFoundException,
  Post,
  UnprocessableEntityException,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import {
  type CompiledPipeline,
  findPipeline,
  loadPipelineFile,
  loadRules,
  loadRulesFromText,
  PIPELINES_DIR,
  pipelineCompileOptions,
  type SigmaRule,
} from '@citysoc/sigma';
import { type EventStore, HuntError, type HuntOptions, type HuntResult, retroHunt } from '@citysoc/store';
import { Roles } from '../auth/roles';
import { type ConfigOf, projectRoot } from '@citysoc/config';
import { type apiSchema } from '../config';
import { API_CONFIG, EVENT_STORE } from '../tokens';
import { DrillBlindInterceptor } from '../drills/blind';

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
  ) {}

  /** POST because it runs work on the caller's behalf: the audit interceptor records who hunted what. */
  @Post()
  @HttpCode(200)
  @Roles('analyst', 'lead')
  @ApiOperation({ summary: 'Run a Sigma rule (YAML or rule id) over stored events: a retro-hunt' })
  async hunt(@Body() b: HuntRequest): Promise<HuntResult> {
    if ((b.rule === undefined) === (b.rule_id === undefined))
      throw new BadRequestException('give exactly one of rule (YAML) or rule_id');
    if (b.from && b.to && Date.parse(b.from) >= Date.parse(b.to))
      throw new BadRequestException('from must be before to');
    const rule = b.rule !== undefined ? this.parse(b.rule) : this.find(b.rule_id as string);
    try {
      return await retroHunt(
        this.store,
        rule,
        { ...(b.from ? { from: b.from } : {}), ...(b.to ? { to: b.to } : {}) },
        {
          ...this.pipelineOptions(),
          maxMatches: b.max_matches ?? 100,
          maxScanned: b.max_scanned ?? 100_000,
        },
      );
    } catch (e) {
      if (e instanceof HuntError) throw new UnprocessableEntityException(e.message);
      throw e;
    }
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

  private parse(yaml: string): SigmaRule {
    const { rules, errors } = loadRulesFromText(yaml, 'request.yml', {
      includeStatuses: { deprecated: true, unsupported: true },
    });
    if (errors.length > 0)
      throw new BadRequestException({
        message: 'the rule does not load',
        errors: errors.map((e) => ({ line: e.line, code: e.code, message: e.message })),
      });
    const detection = rules.filter((r) => r.kind === 'detection');
    if (detection.length !== 1 || rules.length !== 1)
      throw new BadRequestException(`expected one detection rule, got ${rules.length} documents`);
    return detection[0] as SigmaRule;
  }

  private find(id: string): SigmaRule {
    const { rules } = loadRules([this.config.builtinRules, ...this.config.rulePaths]);
    const rule = rules.find((r) => r.id === id || r.name === id);
    if (!rule) throw new NotFoundException(`no loaded rule with id or name ${id}`);
    return rule;
  }
}
