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
  Req,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type KvBuckets } from '@citysoc/bus';
import {
  DRILL_RUN_TAG_PREFIX,
  DRILL_RUNS_BUCKET,
  DRILL_TAG,
  DrillRegistryError,
  type DrillRunRecord,
  DrillRunRegistry,
  normalizeFingerprint,
} from '@citysoc/drills';
import { type IncidentStatus, isClosed } from '@citysoc/incidents';
import { type ControlStore, type IncidentStore } from '@citysoc/store';
import { type ConfigOf } from '@citysoc/config';
import { type apiSchema } from '../config';
import { type AuthedRequest, Roles } from '../auth/roles';
import { API_CONFIG, CONTROL_STORE, KV_BUCKETS, INCIDENT_STORE } from '../tokens';
import {
  AbortDrillRunDto,
  DrillRunIdParam,
  FinishDrillRunDto,
  RegisterDrillRunDto,
  techniqueMapProblem,
} from './drills.dto';

/** Longest window a run may claim: a forgotten run must not mark a sender's traffic as drill for days. */
const MAX_WINDOW_MS = 24 * 3600_000;
/** The way from each open status to `resolved`, one allowed transition at a time. */
const TO_RESOLVED: Partial<Record<IncidentStatus, IncidentStatus[]>> = {
  new: ['acknowledged', 'in_progress', 'resolved'],
  acknowledged: ['in_progress', 'resolved'],
  in_progress: ['resolved'],
};

/**
 * Drill runs (issue 9): registration of a run's sender allocations in the `<prefix>drill-runs` KV bucket,
 * which the collectors watch to mark drill records, and abort, which also closes the run's incidents.
 * The `controller` role (and admin) runs drills — not leads, who are tested in a blind exercise; every call
 * that changes something is audited.
 */
@ApiTags('drills')
@ApiBearerAuth()
@Controller('api/v1/drills')
export class DrillsController {
  constructor(
    @Inject(KV_BUCKETS) private readonly buckets: KvBuckets,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_STORE) private readonly incidents: IncidentStore,
    @Inject(API_CONFIG) private readonly config: ConfigOf<typeof apiSchema>,
  ) {}

  private async runs(): Promise<DrillRunRegistry> {
    return DrillRunRegistry.fromKv(await this.buckets.get(DRILL_RUNS_BUCKET));
  }

  @Post('runs')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({
    summary: 'Register a drill run (sender allocations + window) before it sends (controller, admin)',
  })
  async register(@Body() body: RegisterDrillRunDto, @Req() req: AuthedRequest): Promise<DrillRunRecord> {
    const start = Date.parse(body.window.start);
    const end = Date.parse(body.window.end);
    if (!(end > start) || end - start > MAX_WINDOW_MS)
      throw new ConflictException('window.end must follow window.start, within 24 h');
    const clientCerts = [...new Set((body.clientCerts ?? []).map((c) => normalizeFingerprint(c)!))];
    if (body.syslog.length + body.exporters.length + clientCerts.length === 0)
      throw new ConflictException(
        'a run needs at least one syslog, exporter or client certificate allocation',
      );
    const now = new Date().toISOString();
    const rec: DrillRunRecord = {
      runId: body.runId,
      scenario: body.scenario,
      scenarioSha256: body.scenarioSha256,
      syslog: body.syslog.map((s) => ({ transport: s.transport, address: s.address, port: s.port })),
      exporters: body.exporters.map((e) => ({ address: e.address, domain: e.domain })),
      ...(clientCerts.length > 0 ? { clientCerts } : {}),
      window: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
      status: 'running',
      registeredAt: now,
      registeredBy: req.principal!.name,
      seed: body.seed ?? 0,
      speed: body.speed ?? 1,
      updatedAt: now,
      notify: body.notify ?? 'dry-run',
    };
    try {
      await (await this.runs()).register(rec);
    } catch (e) {
      if (e instanceof DrillRegistryError) throw new ConflictException(e.message);
      throw e;
    }
    req.auditDetail = {
      run: rec.runId,
      scenario: rec.scenario,
      window: rec.window,
      notify: rec.notify,
      clientCerts: rec.clientCerts ?? [],
    };
    return rec;
  }

  @Get('runs')
  @Roles('controller', 'auditor')
  @ApiOperation({ summary: 'Drill runs, oldest first (controller, auditor, admin)' })
  async list(): Promise<{ items: DrillRunRecord[] }> {
    return { items: await (await this.runs()).list() };
  }

  @Post('runs/:id/finish')
  @HttpCode(200)
  @Roles('controller')
  @ApiOperation({ summary: 'End a run now with its result (the runner calls this when it is done)' })
  async finish(
    @Param() p: DrillRunIdParam,
    @Body() body: FinishDrillRunDto,
    @Req() req: AuthedRequest,
  ): Promise<DrillRunRecord> {
    const registry = await this.runs();
    const cur = await registry.get(p.id);
    if (!cur) throw new NotFoundException(`drill run ${p.id} not found`);
    if (cur.status !== 'running') throw new ConflictException(`drill run ${p.id} is ${cur.status}`);
    if (body.techniques) {
      const problem = techniqueMapProblem(body.techniques);
      if (problem) throw new BadRequestException(problem);
    }
    const run = await registry.finish(p.id, 'finished', {
      ...(body.result ? { result: body.result } : {}),
      ...(body.scorecard ? { scorecard: body.scorecard } : {}),
      ...(body.techniques ? { techniques: body.techniques } : {}),
      ...(body.attack_version ? { attack_version: body.attack_version } : {}),
    });
    req.auditDetail = { run: p.id, result: body.result ?? null };
    return run;
  }

  @Post('runs/:id/abort')
  @HttpCode(200)
  @Roles('controller')
  @ApiOperation({
    summary: 'Abort a run: close its window and resolve every open incident of the run as drill-aborted',
  })
  async abort(
    @Param() p: DrillRunIdParam,
    @Body() body: AbortDrillRunDto,
    @Req() req: AuthedRequest,
  ): Promise<{ run: DrillRunRecord; closed: string[] }> {
    const registry = await this.runs();
    const cur = await registry.get(p.id);
    if (!cur) throw new NotFoundException(`drill run ${p.id} not found`);
    const run = cur.status === 'running' ? await registry.finish(p.id, 'aborted') : cur;
    const actor = req.principal!.name;
    const reason = `drill-aborted: run ${p.id}${body.reason ? ` — ${body.reason}` : ''}`;
    const closed: string[] = [];
    // Only pure drill incidents carry drill-run:<id>; a mixed one (real) lost it and stays open.
    for (let after: string | undefined, first = true; first || after; first = false) {
      const page = await this.incidents.list({
        tag: DRILL_RUN_TAG_PREFIX + p.id,
        limit: 500,
        ...(after ? { after } : {}),
      });
      for (const inc of page.items) {
        if (isClosed(inc.status) || !inc.tags.includes(DRILL_TAG)) continue;
        for (const to of TO_RESOLVED[inc.status] ?? [])
          await this.incidents.transition(inc.id, to, actor, to === 'resolved' ? reason : undefined);
        closed.push(inc.id);
      }
      after = page.next;
    }
    req.auditDetail = { run: p.id, status: run.status, closed };
    return { run, closed };
  }
}
