import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { type Redis } from 'ioredis';
import { loadConfig } from '@citysoc/config';
import { redisConnection } from '@citysoc/queues';
import { ReportOutbox, ReportPreparer, type ReportSettings, reportSettingsSchema } from '@citysoc/reports';
import {
  type ControlStore,
  type EventStore,
  type IncidentStore,
  type EventStoreSettings,
  type IncidentStoreSettings,
  openControlStore,
  openConfiguredEventStore,
  openIncidentStore,
  prepareIncidentStore,
} from '@citysoc/store';
import { ReportsController } from './reports.controller';
import {
  REPORT_OUTBOX,
  REPORT_PREPARER,
  REPORT_SETTINGS,
  REPORTS_CONTROL,
  REPORTS_INCIDENTS,
} from './tokens';

@Injectable()
class ReportResources implements OnApplicationShutdown {
  constructor(
    @Inject(REPORTS_CONTROL) private readonly control: ControlStore,
    @Inject('REPORTS_EVENTS') private readonly events: EventStore,
    @Inject('REPORTS_REDIS') private readonly redis: Redis,
    @Inject(REPORT_OUTBOX) private readonly outbox: ReportOutbox,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.outbox.close();
    this.redis.disconnect();
    await this.events.close();
    this.control.close();
  }
}

/**
 * Reports in the API: view/download a report before and after sending, the outbox and deliveries, and a
 * lead's "report this incident". Own store handles and queue, so the API module only registers it.
 */
@Module({})
export class ReportsModule {
  static register(
    config: { redisUrl: string; queuePrefix: string } & IncidentStoreSettings & EventStoreSettings,
  ): DynamicModule {
    const settings: ReportSettings = loadConfig(reportSettingsSchema);
    return {
      module: ReportsModule,
      controllers: [ReportsController],
      providers: [
        { provide: REPORT_SETTINGS, useValue: settings },
        { provide: REPORTS_CONTROL, useFactory: () => openControlStore(config.dataDir) },
        {
          provide: REPORTS_INCIDENTS,
          inject: [REPORTS_CONTROL],
          useFactory: async (control: ControlStore) => {
            const store = openIncidentStore(config, control);
            await prepareIncidentStore(store);
            return store;
          },
        },
        { provide: 'REPORTS_EVENTS', useFactory: () => openConfiguredEventStore(config) },
        { provide: 'REPORTS_REDIS', useFactory: () => redisConnection(config.redisUrl) },
        {
          provide: REPORT_OUTBOX,
          inject: ['REPORTS_REDIS'],
          useFactory: (redis: Redis) => new ReportOutbox(config.queuePrefix, redis),
        },
        {
          provide: REPORT_PREPARER,
          inject: [REPORTS_CONTROL, REPORTS_INCIDENTS, 'REPORTS_EVENTS'],
          useFactory: (control: ControlStore, incidents: IncidentStore, events: EventStore) =>
            new ReportPreparer(control, incidents, events, settings),
        },
        ReportResources,
      ],
    };
  }
}
