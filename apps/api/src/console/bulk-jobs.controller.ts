import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  Logger,
  NotFoundException,
  Param,
  Post,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { type IncidentQueue } from '@citysoc/queues';
import { type BulkJob, type ControlStore, type UnitScope, type IncidentStore } from '@citysoc/store';
import { type AuthedRequest, Roles, scopeOf, WORKERS } from '../auth/roles';
import { DrillBlindInterceptor } from '../drills/blind';
import { CONTROL_STORE, INCIDENT_QUEUE, INCIDENT_STORE } from '../tokens';
import { toFilter } from './console-api.controller';
import { BulkByQuery } from './console-api.dto';

/** The runner writes progress at least this often, so a poll sees movement within a second. */
const REPORT_EVERY_MS = 200;
/** Incidents closed between two yields to the event loop (other requests keep being answered). */
const SLICE = 50;
const BULK_MAX = 10_000;

export class BulkJobParam {
  @Matches(/^[0-9a-f-]{36}$/)
  id!: string;
}

export class BulkBySelection {
  @ApiProperty({
    type: [String],
    description: 'Exactly the incidents the analyst selected; nothing else is touched',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BULK_MAX)
  @ArrayUnique()
  @Matches(/^[A-Za-z0-9_-]{1,100}$/, { each: true })
  ids!: string[];

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  reason!: string;
}

/**
 * Bulk close by query (or by selection) as a background job: the request checks the confirmed count, records the job and
 * answers at once; the job closes incident after incident (each its own transaction and audit-visible
 * history line, the queue job completed like a single close) and writes its progress to the control
 * database, which GET …/jobs/:id reads. The start is audited by the interceptor, the outcome when it ends.
 */
@ApiTags('console')
@ApiBearerAuth()
@Controller('api/v1/console/bulk/jobs')
@UseInterceptors(DrillBlindInterceptor)
export class BulkJobsController {
  private readonly logger = new Logger('bulk-jobs');

  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_STORE) private readonly incidents: IncidentStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles(...WORKERS)
  @ApiOperation({
    summary:
      'Start closing as false positive every incident matching the query (time range required) in the background; refused if the match count differs from the confirmed one. Poll GET …/bulk/jobs/{id}.',
  })
  async start(@Body() body: BulkByQuery, @Req() req: AuthedRequest): Promise<BulkJob> {
    if (!body.from || !body.to) throw new BadRequestException('a bulk action by query needs from and to');
    const scope = scopeOf(req);
    const actor = req.principal!.name;
    const filter = toFilter(body);
    const ids = await this.incidents.queueIds(
      filter,
      { scope, me: actor, now: Date.now(), breachingWithinMs: 30 * 60_000 },
      BULK_MAX + 1,
    );
    if (ids.length !== body.expected)
      throw new ConflictException(
        `the query now matches ${ids.length} incidents, not the ${body.expected} you confirmed; review and confirm again`,
      );
    const job = this.control.bulkJobs.create(actor, 'false_positive', { ...filter }, ids.length);
    req.auditDetail = { job: job.id, query: { ...filter }, matched: ids.length };
    void this.run(job.id, ids, body.reason, actor, scope).catch((err: Error) => {
      this.logger.error(`bulk job ${job.id} stopped: ${err.message}`);
    });
    return job;
  }

  @Post('selection')
  @HttpCode(202)
  @Roles(...WORKERS)
  @ApiOperation({
    summary:
      'Start closing exactly the listed incidents as false positives in the background (the same job as by query); each is reported closed or refused. Poll GET …/bulk/jobs/{id}.',
  })
  startSelection(@Body() body: BulkBySelection, @Req() req: AuthedRequest): BulkJob {
    const scope = scopeOf(req);
    const actor = req.principal!.name;
    // Only the ids given are touched; one outside the caller's scope fails like a missing one, in the job.
    const job = this.control.bulkJobs.create(
      actor,
      'false_positive',
      { ids: body.ids.length },
      body.ids.length,
    );
    req.auditDetail = { job: job.id, ids: body.ids };
    void this.run(job.id, body.ids, body.reason, actor, scope).catch((err: Error) => {
      this.logger.error(`bulk job ${job.id} stopped: ${err.message}`);
    });
    return job;
  }

  @Get(':id')
  @Roles(...WORKERS)
  @ApiOperation({ summary: 'Progress of a bulk job you started: matched, done, succeeded, failed' })
  get(@Param() p: BulkJobParam, @Req() req: AuthedRequest): BulkJob {
    const job = this.control.bulkJobs.get(p.id);
    // Someone else's job is indistinguishable from a missing one.
    if (!job || job.actor !== req.principal!.name) throw new NotFoundException(`bulk job ${p.id} not found`);
    return job;
  }

  private async run(
    id: string,
    ids: string[],
    reason: string,
    actor: string,
    scope: UnitScope,
  ): Promise<void> {
    let succeeded = 0;
    let failures: Array<{ id: string; error: string }> = [];
    let last = Date.now();
    const flush = (finished: boolean) => {
      this.control.bulkJobs.progress(id, { succeeded, failures }, finished);
      succeeded = 0;
      failures = [];
      last = Date.now();
    };
    for (let i = 0; i < ids.length; i += SLICE) {
      const closed: Array<{ id: string; token: string | null }> = [];
      for (const incident of ids.slice(i, i + SLICE)) {
        try {
          const token = await this.incidents.claimTokenFor(incident, scope);
          await this.incidents.transition(
            incident,
            { to: 'false_positive', reason },
            actor,
            undefined,
            scope,
          );
          closed.push({ id: incident, token });
          succeeded++;
        } catch (err) {
          failures.push({ id: incident, error: (err as Error).message });
        }
      }
      await Promise.all(
        closed.map((c) =>
          // The store is the truth: a job left in Redis is skipped by claim-next because the incident is closed.
          this.queue.complete(c.id, c.token, 'false_positive').catch((err: Error) => {
            this.logger.warn(`bulk job ${id}: queue job of ${c.id} not completed: ${err.message}`);
          }),
        ),
      );
      if (Date.now() - last >= REPORT_EVERY_MS) flush(false);
      await new Promise((r) => setImmediate(r));
    }
    flush(true);
    const job = this.control.bulkJobs.get(id);
    this.control.audit.append({
      actor,
      action: 'BULK BulkJobsController.finished',
      target: `/api/v1/console/bulk/jobs/${id}`,
      outcome: job && job.failed === 0 ? 'success' : 'failure',
      detail: {
        job: id,
        matched: job?.matched ?? ids.length,
        succeeded: job?.succeeded ?? null,
        failed: job?.failures.map((f) => f.id) ?? [],
      },
    });
  }
}
