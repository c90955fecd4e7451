import {
  Body,
  Controller,
  Delete,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import { createHash } from 'node:crypto';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type ConfigOf } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import {
  incidentTitle,
  maxSeverity,
  mergeMitre,
  mitreFromTags,
  type SlaDeadline,
  slaDeadlines,
  slaPolicyFor,
} from '@citysoc/incidents';
import { type IncidentQueue, type SlaQueue } from '@citysoc/queues';
import {
  type AlertSetSummary,
  type ControlStore,
  type EventStore,
  type EvidencePin,
  type Incident,
  inScope,
  type MergeResult,
  type SplitResult,
  type IncidentStore,
} from '@citysoc/store';
import { type AuthedRequest, Roles, scopeOf, WORKERS } from '../auth/roles';
import { type apiSchema } from '../config';
import { DrillBlindInterceptor } from '../drills/blind';
import { API_CONFIG, CONTROL_STORE, EVENT_STORE, INCIDENT_QUEUE, SLA_QUEUE, INCIDENT_STORE } from '../tokens';
import { IdParam } from './incidents.dto';
import { EvidenceParam, MergeIncidents, PinEvidence, SplitIncident } from './incident-edits.dto';

const ALERT_CHUNK = 500;

/**
 * Changes to an incident's membership: pinned evidence, merging incidents and splitting one. The store
 * changes in one transaction; the BullMQ side follows it the way the transition route does (a closed
 * incident's job completes, a new incident gets SLA timers and a job, a tightened one gets earlier timers).
 */
@ApiTags('incidents')
@ApiBearerAuth()
@Controller('api/v1/incidents')
@UseInterceptors(DrillBlindInterceptor)
export class IncidentEditsController {
  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_STORE) private readonly incidents: IncidentStore,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
    @Inject(SLA_QUEUE) private readonly sla: SlaQueue,
    @Inject(API_CONFIG) private readonly config: ConfigOf<typeof apiSchema>,
  ) {}

  @Post(':id/evidence')
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({
    summary: 'Pin an alert of the incident, or an event in your scope, as evidence with a note',
  })
  async pin(@Param() p: IdParam, @Body() body: PinEvidence, @Req() req: AuthedRequest): Promise<EvidencePin> {
    const scope = scopeOf(req);
    if (!(await this.incidents.get(p.id, scope))) throw new NotFoundException(`incident ${p.id} not found`);
    if (body.kind === 'event') {
      const [ev] = await this.events.getEvents([body.ref]);
      // An event outside the caller's units is indistinguishable from a missing one.
      if (!ev || !eventInScope(scope, ev)) throw new NotFoundException(`event ${body.ref} not found`);
    }
    const pin = await this.incidents.pinEvidence(
      p.id,
      { kind: body.kind, ref: body.ref, note: body.note },
      req.principal!.name,
      scope,
    );
    req.auditDetail = { incident: p.id, pinned: { kind: pin.kind, ref: pin.ref_id } };
    return pin;
  }

  @Delete(':id/evidence/:kind/:ref')
  @Roles(...WORKERS)
  @ApiOperation({ summary: 'Unpin evidence' })
  async unpin(@Param() p: EvidenceParam, @Req() req: AuthedRequest): Promise<{ unpinned: EvidencePin }> {
    const was = await this.incidents.unpinEvidence(p.id, p.kind, p.ref, req.principal!.name, scopeOf(req));
    req.auditDetail = { incident: p.id, unpinned: was };
    return { unpinned: was };
  }

  @Post(':id/merge')
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({
    summary:
      'Merge other incidents into this one: their alerts move here, each becomes duplicate of this one; SLA takes the earliest deadline',
  })
  async merge(
    @Param() p: IdParam,
    @Body() body: MergeIncidents,
    @Req() req: AuthedRequest,
  ): Promise<MergeResult> {
    const scope = scopeOf(req);
    const tokens = new Map<string, string | null>();
    for (const s of body.sources) tokens.set(s, await this.incidents.claimTokenFor(s, scope));
    const before = await this.incidents.get(p.id, scope);
    const result = await this.incidents.merge(p.id, body.sources, body.reason, req.principal!.name, scope);
    req.auditDetail = {
      incident: p.id,
      merged: result.merged.map((m) => m.id),
      moved: result.moved,
      before: before ? { severity: before.severity, alert_count: before.alert_count, sla: before.sla } : null,
      after: {
        severity: result.target.severity,
        alert_count: result.target.alert_count,
        sla: result.target.sla,
      },
    };
    for (const m of result.merged) await this.queue.complete(m.id, tokens.get(m.id) ?? null, 'duplicate');
    // Timer job ids stay short and stable for the same merge: a digest of the merged ids.
    const digest = createHash('sha256')
      .update(result.merged.map((m) => m.id).join(','))
      .digest('hex')
      .slice(0, 12);
    const target = await this.tighten(result.target, before, `merge-${digest}`);
    return { ...result, target };
  }

  @Post(':id/split')
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({
    summary:
      'Move some alerts of this incident into a new incident (status new, same unit, SLA clock of this incident)',
  })
  async split(
    @Param() p: IdParam,
    @Body() body: SplitIncident,
    @Req() req: AuthedRequest,
  ): Promise<SplitResult> {
    const scope = scopeOf(req);
    const cur = await this.incidents.get(p.id, scope);
    if (!cur) throw new NotFoundException(`incident ${p.id} not found`);
    const all = await this.incidents.alertIds(p.id);
    const alerts: Alert[] = [];
    for (let i = 0; i < all.length; i += ALERT_CHUNK)
      alerts.push(...(await this.events.getAlerts(all.slice(i, i + ALERT_CHUNK))));
    const moving = new Set(body.alert_ids);
    const moved = alerts.filter((a) => moving.has(a.id));
    const kept = alerts.filter((a) => !moving.has(a.id));
    // Every alert that stays was found in the event store (none aged out by retention).
    const keptAll = kept.length === all.filter((id) => !moving.has(id)).length;
    const result = await this.incidents.split(
      p.id,
      body.alert_ids,
      {
        moved: summarize(moved, cur),
        // With alerts missing from the event store (retention), what stays keeps its severity and rules.
        kept: keptAll && kept.length > 0 ? summarize(kept, cur) : null,
      },
      body.reason,
      req.principal!.name,
      scope,
    );
    // The new incident runs on the clock its alerts were already on: splitting never resets an SLA.
    const c = result.created;
    const since = Date.parse(cur.reopened_at ?? cur.created_at);
    const deadlines = slaDeadlines(
      c.severity,
      since,
      slaPolicyFor(this.config.slaPolicy, c.unit?.path),
      this.config.slaBusinessHours ?? undefined,
    );
    await this.incidents.setSlaDeadlines(c.id, deadlines);
    await this.sla.schedule(c.id, deadlines, Date.now(), c.generation);
    await this.queue.enqueue(c);
    await this.incidents.markQueued(c.id);
    req.auditDetail = {
      incident: p.id,
      created: c.id,
      moved: body.alert_ids.length,
      after: { source_severity: result.source.severity, created_severity: c.severity },
    };
    return {
      source: result.source,
      created: (await this.incidents.get(c.id)) ?? c,
    };
  }

  /**
   * After a merge: deadlines earlier than before (from a merged incident, or the policy at a raised
   * severity from this incident's start) get their timers, and the waiting job moves up.
   */
  private async tighten(after: Incident, before: Incident | undefined, suffix: string): Promise<Incident> {
    const since = Date.parse(after.reopened_at ?? after.created_at);
    const policy = slaDeadlines(
      after.severity,
      since,
      slaPolicyFor(this.config.slaPolicy, after.unit?.path),
      this.config.slaBusinessHours ?? undefined,
    );
    const due = (i: Incident | undefined, kind: 'acknowledge' | 'resolve') => {
      const v = kind === 'acknowledge' ? i?.sla.acknowledge_due : i?.sla.resolve_due;
      return v ? Date.parse(v) : undefined;
    };
    const tighter: SlaDeadline[] = [];
    for (const kind of ['acknowledge', 'resolve'] as const) {
      const fromPolicy = policy.find((d) => d.kind === kind)?.dueMs;
      const merged = due(after, kind);
      const best = [fromPolicy, merged].filter((v): v is number => v !== undefined);
      if (best.length === 0) continue;
      const dueMs = Math.min(...best);
      const old = due(before, kind);
      if (old === undefined || dueMs < old) tighter.push({ kind, dueMs });
    }
    if (tighter.length > 0) {
      await this.sla.schedule(after.id, tighter, Date.now(), after.generation, suffix);
      await this.incidents.setSlaDeadlines(after.id, tighter);
    }
    await this.queue.reprioritize(after.id, after.priority);
    return (await this.incidents.get(after.id)) ?? after;
  }
}

function summarize(alerts: Alert[], fallback: Incident): AlertSetSummary {
  if (alerts.length === 0)
    return {
      severity: fallback.severity,
      rule_ids: fallback.rule_ids,
      mitre: fallback.mitre,
      title: fallback.title,
    };
  const first = [...alerts].sort((a, b) => a['@timestamp'].localeCompare(b['@timestamp']))[0]!;
  return {
    severity: alerts.map((a) => a.rule.level).reduce(maxSeverity),
    rule_ids: [...new Set(alerts.map((a) => a.rule.id))],
    mitre: alerts.map((a) => mitreFromTags(a.rule.tags)).reduce(mergeMitre),
    title: incidentTitle(first, fallback.entity),
  };
}

function eventInScope(scope: string | undefined, ev: EcsEvent): boolean {
  if (scope === undefined) return true;
  const c = ev.citysoc;
  return [c?.unit, c?.source_unit, c?.destination_unit].some(
    (u) => u !== undefined && u.path.length > 0 && inScope(scope, u.path.join('/')),
  );
}
