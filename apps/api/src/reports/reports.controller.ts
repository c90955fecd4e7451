import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { type Response } from 'express';
import { type ReportOutbox, type ReportPreparer, type ReportSettings, parseForm03 } from '@citysoc/reports';
import {
  type ControlStore,
  type ReportAnnotation,
  type ReportDelivery,
  type ReportVersion,
  type IncidentStore,
} from '@citysoc/store';
import { type StixBundle, isRsitCategory, renderFormViHtml, renderFormViMarkdown } from '@citysoc/stix';
import { type AuthedRequest, READERS, Roles } from '../auth/roles';
import {
  REPORT_OUTBOX,
  REPORT_PREPARER,
  REPORT_SETTINGS,
  REPORTS_CONTROL,
  REPORTS_INCIDENTS,
} from './tokens';

const FORMATS = ['stix', 'md', 'html'] as const;
type Format = (typeof FORMATS)[number];

export class RenderQuery {
  @ApiPropertyOptional({ enum: FORMATS, default: 'stix' })
  @IsOptional()
  @IsIn(FORMATS)
  format?: Format;

  @ApiPropertyOptional({ description: 'Send as a file (Content-Disposition: attachment)' })
  @IsOptional()
  @IsIn(['1', 'true'])
  download?: string;
}

export class VersionQuery {
  @ApiPropertyOptional({ enum: ['pending', 'delivered', 'failed'] })
  @IsOptional()
  @IsIn(['pending', 'delivered', 'failed'])
  state?: 'pending' | 'delivered' | 'failed';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  subject?: string;
}

export class DeliveryQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  report_id?: string;

  @ApiPropertyOptional({ enum: ['delivered', 'retrying', 'failed'] })
  @IsOptional()
  @IsIn(['delivered', 'retrying', 'failed'])
  outcome?: 'delivered' | 'retrying' | 'failed';
}

export class AnnotationBody {
  @ApiPropertyOptional({ description: 'A drill: never reported (or flagged as an exercise, by setting)' })
  @IsOptional()
  @IsBoolean()
  drill?: boolean;

  @ApiPropertyOptional({ description: 'ENISA RSIT category `predicate:value`' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  category?: string;

  @ApiPropertyOptional({ description: 'Mẫu 03 fields (Form03Fields)', type: Object })
  @IsOptional()
  form03?: Record<string, unknown>;
}

type Listed = Omit<ReportVersion, 'bundle'>;

function listed(v: ReportVersion): Listed {
  const { bundle: _bundle, ...rest } = v;
  return rest;
}

@ApiTags('reports')
@ApiBearerAuth()
@Controller('api/v1/reports')
export class ReportsController {
  constructor(
    @Inject(REPORTS_CONTROL) private readonly control: ControlStore,
    @Inject(REPORTS_INCIDENTS) private readonly incidents: IncidentStore,
    @Inject(REPORT_PREPARER) private readonly preparer: ReportPreparer,
    @Inject(REPORT_OUTBOX) private readonly outbox: ReportOutbox,
    @Inject(REPORT_SETTINGS) private readonly settings: ReportSettings,
  ) {}

  @Get('incidents/:id/preview')
  @Roles('lead', 'auditor')
  @ApiOperation({ summary: 'The report this incident would produce now (STIX, or Mẫu 03 in Markdown/HTML)' })
  async preview(
    @Param('id') id: string,
    @Query() q: RenderQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<unknown> {
    const p = await this.preparer.prepare(id, { force: true });
    if (!p.report) throw new NotFoundException(`incident ${id} is not reported: ${p.reason}`);
    return this.render(p.bundle, q, `preview-${id}`, res);
  }

  @Get('incidents/:id/versions')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Report versions stored for an incident, newest first' })
  versionsOf(@Param('id') id: string): Listed[] {
    return this.control.reports.listVersions({ subject: id }).map(listed);
  }

  @Post('incidents/:id/send')
  @HttpCode(202)
  @Roles('lead')
  @ApiOperation({ summary: '"Report this incident": store its current version and queue it for delivery' })
  async send(@Param('id') id: string, @Req() req: AuthedRequest): Promise<Listed & { created: boolean }> {
    const actor = req.principal!.name;
    this.control.reports.annotate(id, { requestedBy: actor });
    const r = await this.preparer.prepareAndStore(id, `lead:${actor}`, { force: true });
    if (!r.version) throw new BadRequestException(`incident ${id} is not reported: drill`);
    await this.outbox.enqueue(r.version.id);
    this.control.audit.append({
      actor,
      action: 'report.request',
      target: id,
      outcome: 'success',
      detail: { report_id: r.version.id, created: r.created, kind: r.version.report_kind },
    });
    return { ...listed(r.version), created: r.created };
  }

  @Put('incidents/:id/annotations')
  @Roles('lead')
  @ApiOperation({ summary: 'Drill flag, RSIT category and Mẫu 03 fields of an incident report' })
  async annotate(@Param('id') id: string, @Body() body: AnnotationBody): Promise<ReportAnnotation> {
    if (!(await this.incidents.get(id))) throw new NotFoundException(`incident ${id} not found`);
    if (body.category !== undefined && !isRsitCategory(body.category))
      throw new BadRequestException('category must be an ENISA RSIT `predicate:value`');
    const form03 = body.form03 === undefined ? undefined : parseForm03(body.form03);
    return this.control.reports.annotate(id, {
      ...(body.drill !== undefined ? { drill: body.drill } : {}),
      ...(body.category !== undefined ? { category: body.category } : {}),
      ...(form03 ? { form03: form03 as Record<string, unknown> } : {}),
    });
  }

  @Get('versions')
  @Roles(...READERS)
  @ApiOperation({ summary: 'The outbox: report versions by state, newest first' })
  versions(@Query() q: VersionQuery): Listed[] {
    return this.control.reports.listVersions({ ...q }).map(listed);
  }

  @Get('versions/:reportId')
  @Roles(...READERS)
  @ApiOperation({ summary: 'A stored report version exactly as sent (or to be sent)' })
  version(
    @Param('reportId') reportId: string,
    @Query() q: RenderQuery,
    @Res({ passthrough: true }) res: Response,
  ): unknown {
    const v = this.control.reports.get(reportId);
    if (!v) throw new NotFoundException(`report ${reportId} not found`);
    return this.render(v.bundle, q, reportId, res);
  }

  @Post('versions/:reportId/retry')
  @HttpCode(202)
  @Roles()
  @ApiOperation({ summary: 'Admin: queue a failed version again after fixing what the centre refused' })
  async retry(@Param('reportId') reportId: string): Promise<Listed> {
    if (!this.control.reports.requeue(reportId))
      throw new NotFoundException(`no failed report version ${reportId}`);
    await this.outbox.enqueue(reportId);
    return listed(this.control.reports.get(reportId)!);
  }

  @Get('deliveries')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Delivery attempts with TAXII status ids and counts, newest first' })
  deliveries(@Query() q: DeliveryQuery): ReportDelivery[] {
    return this.control.reports.listDeliveries({
      ...(q.report_id ? { reportId: q.report_id } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
    });
  }

  private render(bundle: StixBundle, q: RenderQuery, name: string, res: Response): unknown {
    const format = q.format ?? 'stix';
    const download = q.download !== undefined;
    const file = `${name.replace(/[^\w.-]/g, '_')}.${format === 'stix' ? 'json' : format}`;
    if (download) res.setHeader('Content-Disposition', `attachment; filename="${file}"`);
    if (format === 'stix') {
      res.type('application/stix+json;version=2.1');
      return bundle;
    }
    if (!bundle.objects.some((o) => o.type === 'incident'))
      throw new BadRequestException('only incident reports have a Mẫu 03 rendering');
    const opts = { timeZone: this.settings.reportTimeZone };
    if (format === 'md') {
      res.type('text/markdown; charset=utf-8');
      return renderFormViMarkdown(bundle, opts);
    }
    // The form is static text we escaped; no script runs in it even if opened from the API origin.
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.type('text/html; charset=utf-8');
    return renderFormViHtml(bundle, opts);
  }
}
