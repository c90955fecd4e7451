import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { type Redis } from 'ioredis';
import { type NatsConnection } from 'nats';
import { connectBus } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { IncidentQueue, redisConnection } from '@citysoc/queues';
import {
  type ControlStore,
  type EventStore,
  openConfiguredEventStore,
  openControlStore,
} from '@citysoc/store';
import { AdminController } from './admin/admin.controller';
import { AlertsController } from './alerts/alerts.controller';
import { AuditInterceptor } from './auth/audit.interceptor';
import { AuthGuard } from './auth/auth.guard';
import { type apiSchema } from './config';
import { ConsoleController } from './console/console.controller';
import { DomainErrorFilter } from './errors.filter';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { HuntsController } from './hunts/hunts.controller';
import { StorageController } from './storage/storage.controller';
import { IncidentsController } from './incidents/incidents.controller';
import { API_CONFIG, CONTROL_STORE, EVENT_STORE, INCIDENT_QUEUE, NATS, REDIS } from './tokens';

export type ApiConfig = ConfigOf<typeof apiSchema>;

@Injectable()
class Resources implements OnApplicationShutdown {
  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
    if (!this.nc.isClosed()) await this.nc.close();
    await this.events.close();
    this.control.close();
  }
}

@Module({})
export class ApiModule {
  static register(config: ApiConfig): DynamicModule {
    return {
      module: ApiModule,
      controllers: [
        ConsoleController,
        EventsController,
        AlertsController,
        IncidentsController,
        AdminController,
        HealthController,
        HuntsController,
        StorageController,
      ],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: CONTROL_STORE, useFactory: () => openControlStore(config.dataDir) },
        { provide: EVENT_STORE, useFactory: () => openConfiguredEventStore(config) },
        { provide: REDIS, useFactory: () => redisConnection(config.redisUrl) },
        {
          provide: INCIDENT_QUEUE,
          inject: [REDIS],
          useFactory: (redis: Redis) =>
            new IncidentQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix }, redis),
        },
        {
          provide: NATS,
          useFactory: () =>
            connectBus({
              servers: config.natsUrl,
              name: 'citysoc-api',
              ...(config.natsCreds ? { credsFile: config.natsCreds } : {}),
            }),
        },
        Resources,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
        { provide: APP_FILTER, useClass: DomainErrorFilter },
      ],
    };
  }
}
