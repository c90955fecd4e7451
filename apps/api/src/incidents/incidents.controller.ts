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
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type Response } from 'express';
import { isDrillTag } from '@citysoc/drills';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { isClosed } from '@citysoc/incidents';
import { type ComponentMetrics } from '@citysoc/observability';
import { type IncidentQueue } from '@citysoc/queues';
import {
  type ControlStore,
  type EventStore,
  type EvidencePin,
  type Incident,
  type IncidentComment,
  IncidentConflictError,
  type IncidentNote,
  inScope,
  type Page,
  type SlaReportRow,
  type IncidentStore,
} from '@citysoc/store';
import { Histogram } from 'prom-client';
import { DrillBlindInterceptor } from '../drills/blind';
import { type AuthedRequest, READERS, Roles, scopeOf, WORKERS } from '../auth/roles';
import { API_METRICS, CONTROL_STORE, EVENT_STORE, INCIDENT_QUEUE, INCIDENT_STORE } from '../tokens';
import {
  Assign,
  BulkFalsePositive,
  Comment,
  IdParam,
  IncidentListQuery,
  SlaReportQuery,
  Tags,
  Transition,
} from './incidents.dto';

export type IncidentDetail = Incident & {
  alert_ids: string[];
  alerts: Alert[];
  events: EcsEvent[];
  history: IncidentNote[];
  comments: IncidentComment[];
  evidence: EvidencePin[];
};

/** Evidence shown with an incident: the first alerts (and their events); the rest are listed by id. */
const DETAIL_ALERTS = 200;

@ApiTags('incidents')
@ApiBearerAuth()
@Controller('api/v1/incidents')
@UseInterceptors(DrillBlindInterceptor)
export class IncidentsController {
  private readonly claimWait: Histogram;

  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_STORE) private readonly incidents: IncidentStore,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
    @Inject(API_METRICS) metrics: ComponentMetrics,
  ) {
    this.claimWait = new Histogram({
      name: 'citysoc_incident_queue_wait_seconds',
      help: 'How long claimed incidents waited in the queue',
      buckets: [10, 60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600],
      registers: [metrics.registry],
    });
  }

  @Get()
  @Roles(...READERS)
  @ApiOperation({ summary: 'List and search incidents in your unit scope, newest first' })
  async list(@Query() q: IncidentListQuery, @Req() req: AuthedRequest): Promise<Page<Incident>> {
    return await this.incidents.list({
      scope: scopeOf(req),
      ...(q.status ? { status: q.status } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.unit ? { unit: q.unit } : {}),
      ...(q.assignee ? { assignee: q.assignee } : {}),
      ...(q.tag ? { tag: q.tag } : {}),
      ...(q.rule_id ? { ruleId: q.rule_id } : {}),
      ...(q.entity ? { entity: q.entity } : {}),
      ...(q.q ? { text: q.q } : {}),
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.after ? { after: q.after } : {}),
    });
  }

  @Post('claim')
  @HttpCode(200)
  @Roles('responder', 'lead')
  @ApiOperation({
    summary:
      'Claim the highest-priority incident of your unit scope; renew with POST …/heartbeat or it returns to the queue',
  })
  @ApiResponse({ status: 200, description: 'The claimed incident (status acknowledged)' })
  @ApiResponse({ status: 204, description: 'Nothing to claim' })
  async claim(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Incident | undefined> {
    const actor = req.principal!.name;
    const scope = scopeOf(req);
    const lockMs = this.queue.lockMs;
    const claimed = await this.queue.claimNext<Incident>(async (job, token) => {
      const cur = await this.incidents.get(job.incidentId);
      if (!cur) return { skip: true };
      if (!inScope(scope, cur.unit?.path ?? null)) return { pass: true };
      try {
        return { claim: await this.incidents.claim(job.incidentId, actor, { token, lockMs, scope }) };
      } catch (err) {
        if (!(err instanceof IncidentConflictError)) throw err;
        const now = await this.incidents.get(job.incidentId);
        // Held by someone whose claim is still live: wait until it would lapse. Otherwise it is being
        // worked on or closed, and needs no queue job.
        const until =
          (now?.status === 'acknowledged' || now?.status === 'in_progress') && now.claim_expires_at
            ? Date.parse(now.claim_expires_at)
            : 0;
        return until > Date.now() ? { heldUntilMs: until } : { skip: true };
      }
    });
    if (!claimed) {
      res.status(204);
      return undefined;
    }
    this.claimWait.observe(claimed.waitedMs / 1000);
    req.auditDetail = { incident: claimed.value.id, after: { status: claimed.value.status } };
    return claimed.value;
  }

  @Get('sla-report')
  @Roles('lead', 'auditor')
  @ApiOperation({ summary: 'SLA report per unit and severity (lead, auditor, admin), within your scope' })
  async slaReport(@Query() q: SlaReportQuery, @Req() req: AuthedRequest): Promise<{ items: SlaReportRow[] }> {
    const scope = scopeOf(req);
    if (q.unit && scope !== undefined && !inScope(scope, q.unit))
      throw new NotFoundException(`unit ${q.unit} not found`);
    return {
      items: await this.incidents.slaReport({
        scope: q.unit ?? scope,
        ...(q.from ? { from: Date.parse(q.from) } : {}),
        ...(q.to ? { to: Date.parse(q.to) } : {}),
      }),
    };
  }

  @Post('bulk/false-positive')
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({
    summary:
      'Close the listed incidents as false positives with one reason. Only the ids given are touched; each is reported closed or refused.',
  })
  async bulkFalsePositive(
    @Body() body: BulkFalsePositive,
    @Req() req: AuthedRequest,
  ): Promise<{ closed: string[]; refused: Array<{ id: string; error: string }> }> {
    const closed: string[] = [];
    const refused: Array<{ id: string; error: string }> = [];
    for (const id of body.ids) {
      try {
        const before = await this.incidents.claimTokenFor(id, scopeOf(req));
        await this.incidents.transition(
          id,
          { to: 'false_positive', reason: body.reason },
          req.principal!.name,
          undefined,
          scopeOf(req),
        );
        await this.queue.complete(id, before, 'false_positive');
        closed.push(id);
      } catch (err) {
        const code = (err as { code?: string }).code;
        refused.push({ id, error: code === 'incident_not_found' ? 'not found' : (err as Error).message });
      }
    }
    req.auditDetail = { closed, refused };
    return { closed, refused };
  }

  @Get(':id')
  @Roles(...READERS)
  @ApiOperation({ summary: 'One incident with its alerts, the events behind them, history and comments' })
  async get(@Param() p: IdParam, @Req() req: AuthedRequest): Promise<IncidentDetail> {
    const inc = await this.mustGet(p.id, req);
    const alertIds = await this.incidents.alertIds(p.id);
    const alerts = await this.events.getAlerts(alertIds.slice(0, DETAIL_ALERTS));
    const eventIds = [...new Set(alerts.flatMap((a) => a.event_ids))];
    return {
      ...inc,
      alert_ids: alertIds,
      alerts,
      events: await this.events.getEvents(eventIds),
      history: await this.incidents.notes(p.id),
      comments: await this.incidents.comments(p.id),
      evidence: await this.incidents.evidence(p.id),
    };
  }

  @Post(':id/heartbeat')
  @HttpCode(200)
  @Roles('responder', 'lead')
  @ApiOperation({ summary: 'Renew your claim on an incident (call well within CITYSOC_CLAIM_LOCK_SECONDS)' })
  async heartbeat(@Param() p: IdParam, @Req() req: AuthedRequest): Promise<Incident> {
    const actor = req.principal!.name;
    const { token } = await this.incidents.claimToken(p.id, actor, scopeOf(req));
    if (token && !(await this.queue.renew(p.id, token)))
      throw new IncidentConflictError(`your claim on ${p.id} lapsed and the incident went back to the queue`);
    return await this.incidents.renewClaim(p.id, actor, this.queue.lockMs, scopeOf(req));
  }

  @Post(['/:id/transition', '/:id/status'])
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({
    summary:
      'Move an incident through new → acknowledged → in_progress → resolved | false_positive | duplicate (reason required to close or reopen)',
  })
  async transition(
    @Param() p: IdParam,
    @Body() body: Transition,
    @Req() req: AuthedRequest,
  ): Promise<Incident> {
    const reason = body.reason ?? body.note;
    if (body.reason !== undefined && body.note !== undefined && body.reason !== body.note)
      throw new BadRequestException('give reason or note, not both');
    const scope = scopeOf(req);
    const token = await this.incidents.claimTokenFor(p.id, scope);
    const { before, after } = await this.incidents.transitionWithBefore(
      p.id,
      {
        to: body.status,
        ...(reason !== undefined ? { reason } : {}),
        ...(body.duplicate_of !== undefined ? { duplicateOf: body.duplicate_of } : {}),
      },
      req.principal!.name,
      scope,
    );
    req.auditDetail = { before: summary(before), after: summary(after) };
    // The queue follows the store: closing completes the job, releasing puts the incident back.
    if (isClosed(after.status)) await this.queue.complete(p.id, token, after.status);
    else if (after.status === 'new') {
      await this.queue.release(p.id, token);
      await this.queue.enqueue(after);
    }
    return after;
  }

  @Post(':id/assign')
  @HttpCode(200)
  @Roles('lead')
  @ApiOperation({ summary: 'Assign an incident to a user, or unassign it (lead, admin)' })
  async assign(@Param() p: IdParam, @Body() body: Assign, @Req() req: AuthedRequest): Promise<Incident> {
    const before = await this.mustGet(p.id, req);
    const after = await this.incidents.assign(p.id, body.assignee, req.principal!.name, scopeOf(req));
    req.auditDetail = { before: { assignee: before.assignee }, after: { assignee: after.assignee } };
    return after;
  }

  @Post(':id/comments')
  @Roles(...WORKERS)
  @ApiOperation({ summary: 'Add a note to an incident' })
  async comment(
    @Param() p: IdParam,
    @Body() body: Comment,
    @Req() req: AuthedRequest,
  ): Promise<IncidentComment> {
    return await this.incidents.comment(p.id, req.principal!.name, body.text, scopeOf(req));
  }

  @Post(':id/tags')
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({ summary: 'Add and remove tags' })
  async tags(@Param() p: IdParam, @Body() body: Tags, @Req() req: AuthedRequest): Promise<Incident> {
    // Drill status comes from the listeners' marks only: a hand-set drill tag would hide a real incident.
    const drillTags = [...(body.add ?? []), ...(body.remove ?? [])].filter(isDrillTag);
    if (drillTags.length > 0)
      throw new BadRequestException(
        `drill tags are set by the pipeline, not by hand: ${drillTags.join(', ')}`,
      );
    const before = await this.mustGet(p.id, req);
    const after = await this.incidents.setTags(
      p.id,
      body.add ?? [],
      body.remove ?? [],
      req.principal!.name,
      scopeOf(req),
    );
    req.auditDetail = { before: { tags: before.tags }, after: { tags: after.tags } };
    return after;
  }

  private async mustGet(id: string, req: AuthedRequest): Promise<Incident> {
    const inc = await this.incidents.get(id, scopeOf(req));
    // Outside the caller's unit is indistinguishable from absent.
    if (!inc) throw new NotFoundException(`incident ${id} not found`);
    return inc;
  }
}

function summary(i: Incident): Record<string, unknown> {
  return { status: i.status, assignee: i.assignee, reason: i.reason, duplicate_of: i.duplicate_of };
}
