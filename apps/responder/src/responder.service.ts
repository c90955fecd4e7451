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
import { IncidentQueue, redisConnection } from '@citysoc/queues';
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

  private async enqueue(incident: Incident): Promise<void> {
    await this.queue!.enqueue(incident);
    this.control!.incidents.markQueued(incident.id);
    this.metrics.sent.inc({ component: 'responder' });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
    await this.metricsServer?.close();
    await this.bus?.close();
    await this.queue?.close();
    this.redis?.disconnect();
    this.control?.close();
  }
}
