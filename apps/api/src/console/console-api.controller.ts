import {
  BadRequestException,
  Body,
  ConflictException,
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
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Response } from 'express';
import { type IncidentQueue } from '@citysoc/queues';
import {
  type ControlStore,
  type EventStore,
  type CountRow,
  type Incident,
  type IncidentStore,
  type RuleIncidentStats,
  type UnitIncidentRow,
} from '@citysoc/store';
import { DrillBlindInterceptor } from '../drills/blind';
import { type AuthedRequest, READERS, Roles, scopeOf, WORKERS } from '../auth/roles';
import { IdParam } from '../incidents/incidents.dto';
import { CONTROL_STORE, EVENT_STORE, INCIDENT_QUEUE, INCIDENT_STORE } from '../tokens';
import { BulkByQuery, QueueFilterQuery, QueueQuery } from './console-api.dto';
import { type QueueContext, type QueueFilter } from './queue-query';

const BREACHING_WITHIN_MS = 30 * 60_000;
const STREAM_POLL_MS = 1000;
const LATENCY_SAMPLE = 1000;
/** A bulk close by query touches at most this many incidents (one more is read to tell it matched more). */
const BULK_LIMIT = 10_000;
/** Changes sent per poll of the stream; the rest follow on the next polls. */
const STREAM_BATCH = 500;

export interface QueuePage {
  items: Incident[];
  total: number;
  page: number;
  size: number;
  groups?: Array<{ key: string; count: number; max_severity: string }>;
  now: string;
}

/**
 * What the console needs beyond the v1 API: the queue ordered by SLA risk with server-side group counts,
 * claiming a chosen incident, bulk close by query, aggregates for dashboards/units/rules, and a stream of
 * incident changes. Everything is scoped to the caller's unit on the server.
 */
@ApiTags('console')
@ApiBearerAuth()
@Controller('api/v1/console')
@UseInterceptors(DrillBlindInterceptor)
export class ConsoleApiController {
  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_STORE) private readonly incidents: IncidentStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  @Get('queue')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Incidents of a queue view by SLA risk then severity, with group counts' })
  async queuePage(@Query() q: QueueQuery, @Req() req: AuthedRequest): Promise<QueuePage> {
    const ctx = this.ctx(req);
    const size = q.size ?? 50;
    const page = q.page ?? 1;
    const r = await this.incidents.queuePage(toFilter(q), ctx, {
      page,
      size,
      ...(q.group ? { group: q.group } : {}),
    });
    return {
      items: r.items,
      total: r.total,
      page,
      size,
      ...(r.groups ? { groups: r.groups } : {}),
      now: new Date(ctx.now).toISOString(),
    };
  }

  @Post('incidents/:id/claim')
  @HttpCode(200)
  // Claiming is the responders' act, as for claim-next (POST /api/v1/incidents/claim).
  @Roles('responder', 'lead')
  @ApiOperation({ summary: 'Claim this incident (new → acknowledged, assigned to you)' })
  async claim(@Param() p: IdParam, @Req() req: AuthedRequest): Promise<Incident> {
    // Without a queue token: the queue's job is skipped by claim-next because the store says it is taken,
    // and releasing (→ new) enqueues it again through the transition route.
    const after = await this.incidents.claim(p.id, req.principal!.name, { scope: scopeOf(req) });
    req.auditDetail = { incident: p.id, after: { status: after.status, assignee: after.assignee } };
    return after;
  }

  @Get('bulk/preview')
  @Roles(...WORKERS)
  @ApiOperation({ summary: 'How many incidents a bulk close by query would touch' })
  async bulkPreview(
    @Query() q: QueueFilterQuery,
    @Req() req: AuthedRequest,
  ): Promise<{ matched: number; from?: string; to?: string }> {
    if (!q.from || !q.to) throw new BadRequestException('a bulk action by query needs from and to');
    const matched = await this.incidents.queueCount(toFilter(q), this.ctx(req));
    return { matched, from: q.from, to: q.to };
  }

  @Post('bulk/false-positive')
  @HttpCode(200)
  @Roles(...WORKERS)
  @ApiOperation({
    summary:
      'Close as false positive every incident matching the query (time range required); refused if the match count differs from the confirmed one',
  })
  async bulkFalsePositive(
    @Body() body: BulkByQuery,
    @Req() req: AuthedRequest,
  ): Promise<{ matched: number; succeeded: number; failed: Array<{ id: string; error: string }> }> {
    if (!body.from || !body.to) throw new BadRequestException('a bulk action by query needs from and to');
    const scope = scopeOf(req);
    const ids = await this.incidents.queueIds(toFilter(body), this.ctx(req), BULK_LIMIT + 1);
    if (ids.length !== body.expected)
      throw new ConflictException(
        `the query now matches ${ids.length} incidents, not the ${body.expected} you confirmed; review and confirm again`,
      );
    let succeeded = 0;
    const failed: Array<{ id: string; error: string }> = [];
    for (const id of ids) {
      try {
        const token = await this.incidents.claimTokenFor(id, scope);
        await this.incidents.transition(
          id,
          { to: 'false_positive', reason: body.reason },
          req.principal!.name,
          undefined,
          scope,
        );
        await this.queue.complete(id, token, 'false_positive');
        succeeded++;
      } catch (err) {
        failed.push({ id, error: (err as Error).message });
      }
    }
    req.auditDetail = {
      query: { ...toFilter(body) },
      matched: ids.length,
      succeeded,
      failed: failed.map((f) => f.id),
    };
    return { matched: ids.length, succeeded, failed };
  }

  @Get('dashboard')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Queue depth, SLA compliance and incidents/alerts by unit, severity and rule' })
  async dashboard(@Req() req: AuthedRequest): Promise<Record<string, unknown>> {
    const ctx = this.ctx(req);
    const since = ctx.now - 24 * 3600_000;
    // Counts through the store's aggregates (SQL on SQLite, aggregations on Elasticsearch).
    const agg = await this.incidents.incidentDashboard({
      scope: ctx.scope,
      since,
      dueBefore: ctx.now + BREACHING_WITHIN_MS,
    });
    const sla = await this.incidents.slaReport({ scope: ctx.scope, from: since });
    // Detection latency over the newest alerts of the window (in scope): ingest → alert and event time → alert.
    // A KPI: drill alerts out (the shared filter, pushed down to the store's drill column / namespace).
    const alerts = await this.events.listAlerts({
      from: new Date(since).toISOString(),
      limit: LATENCY_SAMPLE,
      drill: 'exclude',
      ...(ctx.scope !== undefined ? { scope: ctx.scope } : {}),
    });
    const ingest: number[] = [];
    const eventTime: number[] = [];
    for (const a of alerts.items) {
      const at = Date.parse(a.created_at);
      const created = Date.parse(a.event.event.created ?? '');
      const ts = Date.parse(a['@timestamp']);
      if (!Number.isNaN(at) && !Number.isNaN(created)) ingest.push(at - created);
      if (!Number.isNaN(at) && !Number.isNaN(ts)) eventTime.push(at - ts);
    }
    return {
      now: new Date(ctx.now).toISOString(),
      since: new Date(since).toISOString(),
      detection_latency_ms: {
        alerts: alerts.items.length,
        ingest_to_alert: percentiles(ingest),
        event_to_alert: percentiles(eventTime),
      },
      queue: { by_status: agg.by_status, breaching_soon: agg.breaching_soon },
      sla: {
        incidents: agg.sla.incidents,
        breached: agg.sla.breached,
        compliance: agg.sla.incidents ? 1 - agg.sla.breached / agg.sla.incidents : null,
        rows: sla,
      },
      by_severity: agg.by_severity,
      by_unit: agg.by_unit,
      by_rule: agg.by_rule,
    };
  }

  @Get('units')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Units in your scope with open and breached incident counts' })
  async units(@Req() req: AuthedRequest): Promise<{ items: UnitIncidentRow[] }> {
    return { items: await this.incidents.incidentUnits(scopeOf(req)) };
  }

  @Get('rules')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Rules that raised incidents in your scope: hits and false-positive rate' })
  async rules(@Req() req: AuthedRequest): Promise<{ items: RuleIncidentStats[] }> {
    return { items: await this.incidents.incidentRuleStats(scopeOf(req), 500) };
  }

  @Get('attack')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Incidents per ATT&CK tactic and technique seen in your scope' })
  async attack(@Req() req: AuthedRequest): Promise<{ tactics: CountRow[]; techniques: CountRow[] }> {
    const m = await this.incidents.incidentMitre(scopeOf(req));
    return { tactics: m.tactics, techniques: m.techniques };
  }

  @Get('stream')
  @Roles(...READERS)
  @ApiOperation({
    summary: 'Server-sent events: incidents changed in your scope (polls the store each second)',
  })
  stream(@Req() req: AuthedRequest, @Res() res: Response): void {
    const scope = scopeOf(req);
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.flushHeaders();
    let since = Date.now();
    res.write(`event: ready\ndata: ${JSON.stringify({ since: new Date(since).toISOString() })}\n\n`);
    // One poll at a time: a slow store (Elasticsearch over the network) must not pile polls up.
    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const rows = await this.incidents.changedSince({
          since,
          inclusive: false,
          ...(scope !== undefined ? { scope } : {}),
          limit: STREAM_BATCH,
        });
        if (rows.length === 0) {
          res.write(': keepalive\n\n');
          return;
        }
        since = rows[rows.length - 1]!.updated_at;
        res.write(
          `event: incidents\ndata: ${JSON.stringify(rows.map((r) => ({ id: r.id, status: r.status, severity: r.severity, updated_at: new Date(r.updated_at).toISOString() })))}\n\n`,
        );
      } catch (err) {
        res.write(`event: error\ndata: ${JSON.stringify({ error: (err as Error).message })}\n\n`);
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(() => void poll(), STREAM_POLL_MS);
    res.on('close', () => clearInterval(timer));
  }

  @Get('incidents/:id/audit')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Audit entries that concern this incident' })
  async incidentAudit(@Param() p: IdParam, @Req() req: AuthedRequest): Promise<{ items: unknown[] }> {
    if (!(await this.incidents.get(p.id, scopeOf(req))))
      throw new NotFoundException(`incident ${p.id} not found`);
    const rows = this.control.db
      .prepare(`SELECT * FROM audit_log WHERE target LIKE ? OR detail LIKE ? ORDER BY seq DESC LIMIT 200`)
      .all(`%${p.id}%`, `%${p.id}%`);
    return { items: rows };
  }

  private ctx(req: AuthedRequest): QueueContext {
    return {
      scope: scopeOf(req),
      me: req.principal!.name,
      now: Date.now(),
      breachingWithinMs: BREACHING_WITHIN_MS,
    };
  }
}

/** p50/p95 of a sample (nearest rank), null when empty. */
export function percentiles(values: number[]): { p50: number; p95: number } | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  return { p50: at(50), p95: at(95) };
}

export function toFilter(q: QueueFilterQuery): QueueFilter {
  return {
    view: q.view ?? 'open',
    ...(q.severity ? { severity: q.severity } : {}),
    ...(q.unit ? { unit: q.unit } : {}),
    ...(q.rule ? { rule: q.rule } : {}),
    ...(q.tactic ? { tactic: q.tactic } : {}),
    ...(q.entity ? { entity: q.entity } : {}),
    ...(q.q ? { q: q.q } : {}),
    ...(q.from ? { from: q.from } : {}),
    ...(q.to ? { to: q.to } : {}),
  };
}
