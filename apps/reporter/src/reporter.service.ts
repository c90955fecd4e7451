import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { type Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { type Bus, openBus, openKv } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { IOC_BUCKET, IocBucketWriter } from '@citysoc/enrich';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import { redisConnection, redisReadyCheck } from '@citysoc/queues';
import {
  Deliverer,
  ReportOutbox,
  ReportPreparer,
  type SummaryLabel,
  prepareSummary,
  pullIocs,
  scanIncidents,
  taxiiClientOf,
} from '@citysoc/reports';
import {
  type ControlStore,
  type EventStore,
  openControlStore,
  openConfiguredEventStore,
  type IncidentStore,
  openIncidentStore,
  prepareIncidentStore,
} from '@citysoc/store';
import { type reporterSchema } from './config';

export const REPORTER_CONFIG = Symbol('REPORTER_CONFIG');
export type ReporterConfig = ConfigOf<typeof reporterSchema>;

const SCHEDULES_QUEUE = 'report-schedules';

interface ScheduleJob {
  kind: 'summary' | 'ioc-pull';
  label?: SummaryLabel;
}

/**
 * National reporting: finds incidents the policy covers (scan of the incidents table with a watermark, see
 * scanIncidents), stores each report version in SQLite, delivers it through the BullMQ outbox to the TAXII
 * collection, builds the scheduled summaries (BullMQ job schedulers) and pulls the centre's indicators.
 */
@Injectable()
export class ReporterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reporter');
  private readonly metrics = new ComponentMetrics('reporter');
  private readonly deliveries = new Counter({
    name: 'citysoc_report_deliveries_total',
    help: 'Report delivery attempts by outcome (failed = refused by the centre; an admin must act)',
    labelNames: ['outcome'],
    registers: [this.metrics.registry],
  });
  private readonly versionsGauge = new Gauge({
    name: 'citysoc_report_versions',
    help: 'Stored report versions by state',
    labelNames: ['state'],
    registers: [this.metrics.registry],
  });
  private readonly iocsPulled = new Counter({
    name: 'citysoc_report_iocs_pulled_total',
    help: 'IOCs read from the national collection',
    registers: [this.metrics.registry],
  });
  private control?: ControlStore;
  private incidents?: IncidentStore;
  private bus?: Bus;
  private preparer?: ReportPreparer;
  private events?: EventStore;
  private redis?: Redis;
  private outbox?: ReportOutbox;
  private schedules?: Queue<ScheduleJob>;
  private scheduleWorker?: Worker<ScheduleJob>;
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private metricsServer?: { close(): Promise<void> };

  constructor(@Inject(REPORTER_CONFIG) private readonly config: ReporterConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const control = openControlStore(c.dataDir);
    this.control = control;
    const incidents = openIncidentStore(c, control);
    await prepareIncidentStore(incidents);
    this.incidents = incidents;
    const events = openConfiguredEventStore(c);
    this.events = events;
    this.preparer = new ReportPreparer(control, incidents, events, c);
    const redis = redisConnection(c.redisUrl);
    this.redis = redis;
    this.outbox = new ReportOutbox(c.queuePrefix, redis, { baseMs: c.retryBaseMs, maxMs: c.retryMaxMs });
    // The IOCs pulled from the national collection go to every detector through a KV bucket.
    const bus = await openBus(c, 'reporter');
    this.bus = bus;
    const iocWriter = new IocBucketWriter(await openKv(bus, IOC_BUCKET, c.natsReplicas));
    const publishIocs = async (): Promise<void> => {
      const active = control.reports.activeIocs().map((i) => ({
        type: i.type,
        value: i.value,
        source: i.source,
        indicator_id: i.indicator_id,
      }));
      const r = await iocWriter.sync(active);
      if (r.put + r.deleted > 0)
        this.logger.log(`IOC bucket: ${r.put} put, ${r.deleted} removed (${active.length} active)`);
    };
    await publishIocs();
    const client = c.taxiiUrl ? taxiiClientOf(c, { pollIntervalMs: c.statusPollMs }) : undefined;
    if (client && c.taxiiCollection) {
      const worker = this.outbox.start(new Deliverer(control, client, c.taxiiCollection));
      worker.on('completed', (_job, outcome: string) => this.deliveries.inc({ outcome }));
      worker.on('failed', () => this.deliveries.inc({ outcome: 'retrying' }));
      worker.on('error', (err) => this.logger.error(`outbox worker: ${err.message}`));
    } else {
      this.logger.warn(
        'CITYSOC_TAXII_URL or CITYSOC_TAXII_COLLECTION unset: reports are built and kept pending',
      );
    }

    this.schedules = new Queue<ScheduleJob>(SCHEDULES_QUEUE, { connection: redis, prefix: c.queuePrefix });
    const crons: Array<[SummaryLabel, string]> = [
      ['daily', c.dailyCron],
      ['six-monthly', c.sixMonthlyCron],
      ['yearly', c.yearlyCron],
    ];
    for (const [label, pattern] of crons) {
      if (pattern && pattern !== 'off')
        await this.schedules.upsertJobScheduler(
          `summary-${label}`,
          { pattern, tz: 'UTC' },
          {
            name: 'summary',
            data: { kind: 'summary', label },
            opts: { removeOnComplete: 100, removeOnFail: 100 },
          },
        );
      else await this.schedules.removeJobScheduler(`summary-${label}`);
    }
    if (client && c.taxiiPullCollection)
      await this.schedules.upsertJobScheduler(
        'ioc-pull',
        { every: c.iocPullMinutes * 60_000 },
        { name: 'ioc-pull', data: { kind: 'ioc-pull' }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
      );
    else await this.schedules.removeJobScheduler('ioc-pull');
    this.scheduleWorker = new Worker<ScheduleJob>(
      SCHEDULES_QUEUE,
      async (job) => {
        if (job.data.kind === 'summary' && job.data.label) {
          // The period follows from when the run was due, not when it ran, so a late run covers the same period.
          const at = new Date(job.timestamp + (job.delay ?? 0));
          const r = await prepareSummary(control, incidents, events, c, job.data.label, at);
          if (r.created) await this.outbox!.enqueue(r.reportId);
          this.logger.log(`${job.data.label} summary ${r.reportId} ${r.created ? 'stored' : 'unchanged'}`);
          return;
        }
        if (job.data.kind === 'ioc-pull' && client) {
          const r = await pullIocs(control, client, c.taxiiPullCollection);
          this.iocsPulled.inc(r.iocs);
          // Expired IOCs leave the bucket too: the sync runs after every pull, not only when one was added.
          await publishIocs();
          this.logger.log(
            `pulled ${r.indicators} indicator(s): ${r.iocs} IOC(s), ${r.added} new, ${r.skipped} comparison(s) not usable`,
          );
        }
      },
      { connection: redis, prefix: c.queuePrefix, concurrency: 1 },
    );
    this.scheduleWorker.on('error', (err) => this.logger.error(`schedule worker: ${err.message}`));

    await this.cycle();
    this.timer = setInterval(() => void this.cycle(), c.pollSeconds * 1000);
    this.timer.unref();

    if (c.metricsPort >= 0)
      this.metricsServer = await startMetricsServer(
        this.metrics,
        // Not ready on a Redis that does not persist: its delivery jobs would not survive a crash.
        { redis: redisReadyCheck(redis, c.redisAllowVolatile) },
        c.metricsPort,
        c.metricsHost,
      );
    this.metrics.beforeCollect(() => {
      for (const state of ['pending', 'delivered', 'failed'] as const)
        this.versionsGauge.set(
          { state },
          (
            control.db.prepare('SELECT COUNT(*) AS n FROM report_versions WHERE state = ?').get(state) as {
              n: number;
            }
          ).n,
        );
    });
    this.logger.log('reporter started');
  }

  /** One scan for changed incidents, then every pending version (re)enqueued: Redis may have lost them. */
  private cycle(): Promise<void> {
    this.scanning ??= (async () => {
      try {
        const r = await scanIncidents(
          this.control!,
          new ReportPreparer(this.control!, this.incidents!, this.events!, this.config),
          {
            minUpdateMs: this.config.minUpdateSeconds * 1000,
          },
        );
        for (const id of r.versions) this.logger.log(`report version ${id} stored`);
        for (const e of r.errors) {
          this.metrics.errors.inc({ component: 'reporter', error_type: 'prepare' });
          this.logger.error(`report of incident ${e.id} not built (retried next scan): ${e.error}`);
        }
        for (const v of this.control!.reports.pending()) await this.outbox!.enqueue(v.id);
      } catch (err) {
        this.metrics.errors.inc({ component: 'reporter', error_type: 'scan' });
        this.logger.error(`scan failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
    await this.metricsServer?.close();
    await this.scheduleWorker?.close();
    await this.schedules?.close();
    await this.outbox?.close();
    await this.bus?.close();
    this.redis?.disconnect();
    await this.events?.close();
    this.control?.close();
  }
}
