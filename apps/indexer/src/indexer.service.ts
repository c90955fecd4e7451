import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Bus, DurableConsumer, ensureConsumer, openBus } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import { type EventStore, openEventStore } from '@citysoc/store';
import { type indexerSchema } from './config';

export const INDEXER_CONFIG = Symbol('INDEXER_CONFIG');
export type IndexerConfig = ConfigOf<typeof indexerSchema>;

/** Writes events and alerts to the store in batches; acks a batch only after its transaction committed. */
@Injectable()
export class IndexerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('indexer');
  private readonly metrics = new ComponentMetrics('indexer');
  private bus?: Bus;
  private store?: EventStore;
  private consumers: Array<DurableConsumer<unknown>> = [];
  private metricsServer?: { close(): Promise<void> };

  constructor(@Inject(INDEXER_CONFIG) private readonly config: IndexerConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const store = openEventStore(c.dataDir);
    this.store = store;
    const bus = await openBus(c, 'indexer');
    this.bus = bus;
    const deadletter = {
      publisher: bus.publisher,
      subject: (reason: string) => bus.names.deadletterSubject('indexer', reason),
    };
    const onDeadLettered = (reason: string) => this.metrics.discarded.inc({ component: 'indexer', reason });

    const eventsSpec = { stream: bus.names.eventsStream, durable: bus.names.durable('indexer-events') };
    await ensureConsumer(bus.jsm, eventsSpec);
    const events = new DurableConsumer<EcsEvent>(
      {
        js: bus.js,
        spec: eventsSpec,
        batchSize: c.batchSize,
        deadletter,
        logger: this.logger,
        onDeadLettered,
      },
      {
        decode: (msg) => JSON.parse(Buffer.from(msg.data).toString('utf8')) as EcsEvent,
        handle: async (items) => {
          this.metrics.received.inc({ component: 'events' }, items.length);
          const n = await store.insertEvents(items.map((i) => i.value));
          this.metrics.sent.inc({ component: 'events' }, n);
        },
      },
    );
    const alertsSpec = { stream: bus.names.alertsStream, durable: bus.names.durable('indexer-alerts') };
    await ensureConsumer(bus.jsm, alertsSpec);
    const alerts = new DurableConsumer<Alert>(
      {
        js: bus.js,
        spec: alertsSpec,
        batchSize: c.batchSize,
        deadletter,
        logger: this.logger,
        onDeadLettered,
      },
      {
        decode: (msg) => JSON.parse(Buffer.from(msg.data).toString('utf8')) as Alert,
        handle: async (items) => {
          this.metrics.received.inc({ component: 'alerts' }, items.length);
          const n = await store.insertAlerts(items.map((i) => i.value));
          this.metrics.sent.inc({ component: 'alerts' }, n);
        },
      },
    );
    this.consumers = [events, alerts];
    this.consumers.forEach((cons) => cons.start());
    if (c.metricsPort >= 0) {
      this.metricsServer = await startMetricsServer(
        this.metrics,
        {
          nats: async () => ({ ok: !bus.nc.isClosed() }),
          store: async () => (await store.ping(), { ok: true }),
        },
        c.metricsPort,
        c.metricsHost,
      );
    }
    this.logger.log(`indexer started; store at ${c.dataDir}`);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const cons of this.consumers) await cons.stop();
    await this.metricsServer?.close();
    await this.bus?.close();
    await this.store?.close();
  }
}
