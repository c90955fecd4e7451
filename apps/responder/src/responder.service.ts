import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Redis } from 'ioredis';
import { type Bus, consumeJson, type DurableConsumer, openBus } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { type Alert } from '@citysoc/ecs';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import { slaBreached, slaDeadlines } from '@citysoc/incidents';
import { IncidentQueue, redisConnection, type SlaJobData, SlaQueue } from '@citysoc/queues';
import { Counter } from 'prom-client';
import { type ControlStore, type Incident, openControlStore } from '@citysoc/store';
import { type responderSchema } from './config';

export const RESPONDER_CONFIG = Symbol('RESPONDER_CONFIG');
export type ResponderConfig = ConfigOf<typeof responderSchema>;

/**
 * ALERTS → incidents. Each alert is recorded in one transaction (grouping is idempotent on the alert id),
 * then the incident's BullMQ job is added (idempotent on the incident id) and the incident marked queued.
 * A crash between those steps leaves `queued = 0`, which the start-up sweep and redelivery both repair.
 */
@Injectable()
export class ResponderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('responder');
  private readonly metrics = new ComponentMetrics('responder');
  private bus?: Bus;
  private control?: ControlStore;
  private queue?: IncidentQueue;
  private sla?: SlaQueue;
  private readonly slaBreaches = new Counter({
    name: 'citysoc_sla_breaches_total',
    help: 'Incidents that missed an SLA deadline',
    labelNames: ['kind', 'severity'],
    registers: [this.metrics.registry],
  });
  private redis?: Redis;
  private consumer?: DurableConsumer<Alert>;
  private metricsServer?: { close(): Promise<void> };

  constructor(@Inject(RESPONDER_CONFIG) private readonly config: ResponderConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const control = openControlStore(c.dataDir);
    this.control = control;
    const redis = redisConnection(c.redisUrl);
    this.redis = redis;
    const queue = new IncidentQueue({ redisUrl: c.redisUrl, prefix: c.queuePrefix }, redis);
    this.queue = queue;
    this.sla = new SlaQueue(c.queuePrefix, redis);
    this.sla.start((job) => this.onSlaTimer(job));
    for (const inc of control.incidents.listUnqueued()) await this.enqueue(inc);

    const bus = await openBus(c, 'responder');
    this.bus = bus;
    const windowMs = c.windowMinutes * 60_000;
    this.consumer = await consumeJson<Alert>(
      bus,
      {
        app: 'responder',
        stream: bus.names.alertsStream,
        durable: 'responder',
        batchSize: c.batchSize,
        logger: this.logger,
        onDeadLettered: (reason) => this.metrics.discarded.inc({ component: 'responder', reason }),
      },
      async (alerts) => {
        for (const alert of alerts) {
          this.metrics.received.inc({ component: 'responder' });
          const r = control.incidents.recordAlert(alert, windowMs);
          if (!r.incident.queued) await this.enqueue(r.incident);
          if (r.created)
            this.logger.log(`incident ${r.incident.id} opened: ${r.incident.title} (${r.incident.severity})`);
        }
      },
    );
    if (c.metricsPort >= 0) {
      this.metricsServer = await startMetricsServer(
        this.metrics,
        {
          nats: async () => ({ ok: !bus.nc.isClosed() }),
          redis: async () => ({ ok: (await redis.ping()) === 'PONG' }),
        },
        c.metricsPort,
        c.metricsHost,
      );
    }
    this.logger.log('responder started');
  }

  /** A missed deadline is recorded once, moves the incident to the front of the queue, and is counted. */
  private async onSlaTimer(job: SlaJobData): Promise<void> {
    const incidents = this.control!.incidents;
    const inc = incidents.get(job.incidentId);
    if (!inc || !slaBreached(job.kind, inc.status)) return;
    if (!incidents.recordSlaBreach(inc.id, job.kind, Date.now())) return;
    const escalated = await this.queue!.escalate(inc.id);
    this.slaBreaches.inc({ kind: job.kind, severity: inc.severity });
    this.logger.warn(
      `SLA breached for incident ${inc.id} (${inc.severity}): not ${job.kind === 'acknowledge' ? 'claimed' : 'resolved'} in time${escalated ? '; moved to the front of the queue' : ''}`,
    );
  }

  private async enqueue(incident: Incident): Promise<void> {
    // Timers first, then the job, then the flag: a crash anywhere here is repaired by re-running all three.
    const deadlines = slaDeadlines(incident.severity, Date.parse(incident.created_at), this.config.slaPolicy);
    this.control!.incidents.setSlaDeadlines(incident.id, deadlines);
    await this.sla!.schedule(incident.id, deadlines);
    await this.queue!.enqueue(incident);
    this.control!.incidents.markQueued(incident.id);
    this.metrics.sent.inc({ component: 'responder' });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
    await this.metricsServer?.close();
    await this.bus?.close();
    await this.sla?.close();
    await this.queue?.close();
    this.redis?.disconnect();
    this.control?.close();
  }
}
