import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Bus, consumeJson, type DurableConsumer, expandBatches, openBus } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import {
  type EventStore,
  openConfiguredEventStore,
  prepareEventStore,
  type RejectedDocument,
} from '@citysoc/store';
import { type indexerSchema } from './config';

export const INDEXER_CONFIG = Symbol('INDEXER_CONFIG');
export const INDEXER_STORE = Symbol('INDEXER_STORE');
export type StoreOpener = () => EventStore;
export type IndexerConfig = ConfigOf<typeof indexerSchema>;

/** Writes events and alerts to the store in batches; acks a batch only after its transaction committed. */
@Injectable()
export class IndexerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('indexer');
  private readonly metrics = new ComponentMetrics('indexer');
  private bus?: Bus;
  private store?: EventStore;
  private consumers: Array<DurableConsumer<EcsEvent | EcsEvent[]> | DurableConsumer<Alert>> = [];
  private metricsServer?: { close(): Promise<void> };

  constructor(
    @Inject(INDEXER_CONFIG) private readonly config: IndexerConfig,
    @Inject(INDEXER_STORE) private readonly openStore: StoreOpener | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const store = this.openStore ? this.openStore() : openConfiguredEventStore(c);
    this.store = store;
    await prepareEventStore(store);
    const bus = await openBus(c, 'indexer');
    this.bus = bus;
    // A document the store refuses is dead-lettered whole, before its batch is acked; if that publish
    // fails the batch fails and is redelivered (the stored ones then come back as duplicates).
    const deadLetter = async <T extends object>(kind: string, rejected: RejectedDocument<T>[]) => {
      for (const r of rejected) {
        await bus.publisher.publish({
          subject: bus.names.deadletterSubject('indexer', 'store_rejected'),
          data: Buffer.from(JSON.stringify(r.item)),
          msgId: `dl-store-${kind}-${r.id}`,
          headers: {
            'Citysoc-Reason': 'store_rejected',
            'Citysoc-Detail': `${r.status} ${r.reason}`.slice(0, 1000),
            'Citysoc-Kind': kind,
            'Citysoc-Id': r.id,
          },
        });
        this.metrics.discarded.inc({ component: 'indexer', reason: 'store_rejected' });
        this.logger.warn(`${kind} ${r.id} rejected by the store and dead-lettered: ${r.status} ${r.reason}`);
      }
    };
    const common = {
      app: 'indexer',
      batchSize: c.batchSize,
      logger: this.logger,
      onDeadLettered: (reason: string) => this.metrics.discarded.inc({ component: 'indexer', reason }),
    };
    this.consumers = [
      // A message is one event or a batch of them (flow records of one datagram): every record is stored.
      await consumeJson<EcsEvent | EcsEvent[]>(
        bus,
        { ...common, stream: bus.names.eventsStream, durable: 'indexer-events' },
        async (messages, seqs) => {
          const { values: events } = expandBatches(messages, seqs);
          this.metrics.received.inc({ component: 'events' }, events.length);
          const r = await store.writeEvents(events);
          await deadLetter('event', r.rejected);
          this.metrics.sent.inc({ component: 'events' }, r.inserted);
        },
      ),
      await consumeJson<Alert>(
        bus,
        { ...common, stream: bus.names.alertsStream, durable: 'indexer-alerts' },
        async (alerts) => {
          this.metrics.received.inc({ component: 'alerts' }, alerts.length);
          const r = await store.writeAlerts(alerts);
          await deadLetter('alert', r.rejected);
          this.metrics.sent.inc({ component: 'alerts' }, r.inserted);
        },
      ),
    ];
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
    this.logger.log(`indexer started; ${c.store} store${c.store === 'sqlite' ? ` at ${c.dataDir}` : ''}`);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const cons of this.consumers) await cons.stop();
    await this.metricsServer?.close();
    await this.bus?.close();
    await this.store?.close();
  }
}
