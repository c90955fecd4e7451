import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { type Redis } from 'ioredis';
import { type NatsConnection } from 'nats';
import { busNames, connectBus, KvBuckets } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { ComponentMetrics } from '@citysoc/observability';
import { IncidentQueue, NotifyQueue, redisConnection, SlaQueue } from '@citysoc/queues';
import {
  type ControlStore,
  type EventStore,
  openConfiguredEventStore,
  openControlStore,
  openIncidentStore,
  prepareIncidentStore,
} from '@citysoc/store';
import { AdminController } from './admin/admin.controller';
import { AlertsController } from './alerts/alerts.controller';
import { AuditInterceptor } from './auth/audit.interceptor';
import { AuthController } from './auth/auth.controller';
import { AuthGuard } from './auth/auth.guard';
import { LoginLimiter } from './auth/login-limiter';
import { type apiSchema } from './config';
import { BulkJobsController } from './console/bulk-jobs.controller';
import { ConsoleApiController } from './console/console-api.controller';
import { HuntController } from './console/hunt.controller';
import { RulesAttackController } from './console/rules-attack.controller';
import { ConsoleController } from './console/console.controller';
import { DrillsController } from './drills/drills.controller';
import { DomainErrorFilter } from './errors.filter';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { HuntsController } from './hunts/hunts.controller';
import { StorageController } from './storage/storage.controller';
import { IncidentEditsController } from './incidents/incident-edits.controller';
import { IncidentsController } from './incidents/incidents.controller';
import { NotificationsController } from './notifications/notifications.controller';
import { UsersController } from './users/users.controller';
import {
  API_CONFIG,
  API_METRICS,
  CONTROL_STORE,
  EVENT_STORE,
  INCIDENT_QUEUE,
  INCIDENT_STORE,
  LOGIN_LIMITER,
  KV_BUCKETS,
  NATS,
  NOTIFY_QUEUE,
  REDIS,
  SLA_QUEUE,
} from './tokens';
import { ReportsModule } from './reports/reports.module';

export type ApiConfig = ConfigOf<typeof apiSchema>;

@Injectable()
class Resources implements OnApplicationShutdown {
  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(INCIDENT_QUEUE) private readonly queue: IncidentQueue,
    @Inject(NOTIFY_QUEUE) private readonly notify: NotifyQueue,
    @Inject(SLA_QUEUE) private readonly sla: SlaQueue,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
    await this.notify.close();
    await this.sla.close();
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
      imports: [ReportsModule.register(config)],
      controllers: [
        ConsoleController,
        ConsoleApiController,
        BulkJobsController,
        HuntController,
        RulesAttackController,
        EventsController,
        AlertsController,
        IncidentEditsController,
        IncidentsController,
        AdminController,
        AuthController,
        UsersController,
        NotificationsController,
        HealthController,
        HuntsController,
        StorageController,
        DrillsController,
      ],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: CONTROL_STORE, useFactory: () => openControlStore(config.dataDir) },
        {
          provide: INCIDENT_STORE,
          inject: [CONTROL_STORE],
          useFactory: async (control: ControlStore) => {
            const store = openIncidentStore(config, control);
            await prepareIncidentStore(store);
            return store;
          },
        },
        { provide: EVENT_STORE, useFactory: () => openConfiguredEventStore(config) },
        { provide: REDIS, useFactory: () => redisConnection(config.redisUrl) },
        {
          provide: INCIDENT_QUEUE,
          inject: [REDIS],
          useFactory: async (redis: Redis) => {
            const q = new IncidentQueue(
              {
                redisUrl: config.redisUrl,
                prefix: config.queuePrefix,
                lockMs: config.claimLockSeconds * 1000,
              },
              redis,
            );
            // Claims whose responder stopped renewing go back to the queue.
            await q.startReturningAbandonedClaims();
            return q;
          },
        },
        {
          provide: SLA_QUEUE,
          inject: [REDIS],
          // Adds timers only (split, merge); the responder runs the timer worker.
          useFactory: (redis: Redis) => new SlaQueue(config.queuePrefix, redis),
        },
        {
          provide: NOTIFY_QUEUE,
          inject: [REDIS],
          // Read-only here (failed deliveries); the responder runs the delivery worker.
          useFactory: (redis: Redis) =>
            new NotifyQueue(config.queuePrefix, redis, {
              webhookUrls: [],
              webhookSecret: '',
              smtpUrl: '',
              emailFrom: '',
              leadEmails: [],
              attempts: 1,
              backoffMs: 1000,
              timeoutMs: 1000,
            }),
        },
        { provide: API_METRICS, useFactory: () => new ComponentMetrics('api') },
        { provide: LOGIN_LIMITER, useFactory: () => new LoginLimiter(config.loginRatePerMinute) },
        {
          provide: NATS,
          useFactory: () =>
            connectBus({
              servers: config.natsUrl,
              name: 'citysoc-api',
              ...(config.natsCreds ? { credsFile: config.natsCreds } : {}),
              ...(config.natsNkeySeedFile ? { nkeySeedFile: config.natsNkeySeedFile } : {}),
              ...(config.natsTlsCaFile ? { tlsCaFile: config.natsTlsCaFile } : {}),
              ...(config.natsTlsCertFile ? { tlsCertFile: config.natsTlsCertFile } : {}),
              ...(config.natsTlsKeyFile ? { tlsKeyFile: config.natsTlsKeyFile } : {}),
            }),
        },
        {
          provide: KV_BUCKETS,
          inject: [NATS],
          useFactory: (nc: NatsConnection) =>
            new KvBuckets(
              () => nc.jetstream(),
              (b) => busNames(config.streamPrefix).durable(b),
            ),
        },
        Resources,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
        { provide: APP_FILTER, useClass: DomainErrorFilter },
      ],
    };
  }
}
