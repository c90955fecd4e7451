import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Response } from 'express';
import { type Redis } from 'ioredis';
import { type NatsConnection } from 'nats';
import { ComponentMetrics } from '@citysoc/observability';
import { redisReadyCheck, type IncidentQueue, type NotifyQueue } from '@citysoc/queues';
import { type ControlStore, type EventStore, type IncidentStore } from '@citysoc/store';
import { Public } from '../auth/roles';
import {
  API_METRICS,
  CONTROL_STORE,
  EVENT_STORE,
  INCIDENT_QUEUE,
  INCIDENT_STORE,
  NATS,
  NOTIFY_QUEUE,
  REDIS,
} from '../tokens';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    @Inject(API_METRICS) private readonly metrics: ComponentMetrics,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_STORE) private readonly incidents: IncidentStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
    @Inject(NOTIFY_QUEUE) private readonly notify: NotifyQueue,
  ) {}

  @Get('health/live')
  @Public()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return { status: 'ok' };
  }

  @Get(['health', 'health/ready'])
  @Public()
  @ApiOperation({ summary: 'Readiness of NATS, Redis and the store' })
  async ready(@Res({ passthrough: true }) res: Response) {
    const checks: Record<string, { ok: boolean; detail?: string }> = {
      nats: await this.check(async () => {
        if (this.nc.isClosed()) throw new Error('closed');
        await this.nc.flush();
      }),
      // A Redis without AOF loses the incident queue on a crash: not ready (issue 11).
      redis: await redisReadyCheck(this.redis)(),
      store: await this.check(async () => {
        await this.events.ping();
        this.control.db.prepare('SELECT 1').get();
      }),
    };
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', checks };
  }

  @Get('metrics')
  @Public()
  @Header('content-type', 'text/plain; version=0.0.4')
  @ApiOperation({ summary: 'Prometheus metrics' })
  async prometheus(): Promise<string> {
    const counts = await this.queue.counts().catch(() => ({}));
    const lines = Object.entries(counts).map(
      ([state, n]) => `citysoc_incident_queue_jobs{state="${state}"} ${n}`,
    );
    const oldest = await this.queue.oldestWaitMs().catch(() => undefined);
    const notify = await this.notify.counts().catch(() => ({}));
    // Real incidents only (the shared drill filter); drill breaches are a gauge of their own. A store that
    // fails (an Elasticsearch outage) must not take the rest of the page with it: the scrape is how the
    // outage is seen, so it reports the store down and leaves the breach gauges out.
    const sla = await this.incidents.slaBreachCounts().catch(() => undefined);
    const breaches = sla?.real ?? [];
    const drillBreaches = sla?.drill ?? [];
    return (
      `# HELP citysoc_incident_store_up 1 when the incident store answered this scrape, 0 when it failed (SLA breach gauges then omitted)\n# TYPE citysoc_incident_store_up gauge\ncitysoc_incident_store_up ${sla ? 1 : 0}\n` +
      (await this.metrics.text()) +
      `# HELP citysoc_incident_queue_jobs Jobs in the incidents queue by state\n# TYPE citysoc_incident_queue_jobs gauge\n${lines.join('\n')}\n` +
      (oldest === undefined
        ? ''
        : `# HELP citysoc_incident_queue_oldest_wait_seconds Age of the oldest incident waiting to be claimed\n# TYPE citysoc_incident_queue_oldest_wait_seconds gauge\ncitysoc_incident_queue_oldest_wait_seconds ${oldest / 1000}\n`) +
      `# HELP citysoc_notify_jobs Notification deliveries by state (failed = attempts exhausted, listed at /api/v1/notifications/failed)\n# TYPE citysoc_notify_jobs gauge\n${Object.entries(
        notify,
      )
        .map(([state, n]) => `citysoc_notify_jobs{state="${state}"} ${n}`)
        .join('\n')}\n` +
      `# HELP citysoc_incident_sla_breaches Recorded SLA breaches by kind and severity (from the store)\n# TYPE citysoc_incident_sla_breaches gauge\n${breaches
        .map((b) => `citysoc_incident_sla_breaches{kind="${b.kind}",severity="${b.severity}"} ${b.n}`)
        .join('\n')}\n` +
      `# HELP citysoc_drill_incident_sla_breaches Recorded SLA breaches of drill incidents (kept out of citysoc_incident_sla_breaches)\n# TYPE citysoc_drill_incident_sla_breaches gauge\n${drillBreaches
        .map((b) => `citysoc_drill_incident_sla_breaches{kind="${b.kind}",severity="${b.severity}"} ${b.n}`)
        .join('\n')}\n`
    );
  }

  private async check(fn: () => Promise<void>): Promise<{ ok: boolean; detail?: string }> {
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
}
