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
import { DrillRunRegistry, drillNotifyDryRun, drillRunOf, isDrill } from '@citysoc/drills';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import { isClosed, slaBreached, slaDeadlines, slaPolicyFor } from '@citysoc/incidents';
import {
  IncidentQueue,
  NotifyQueue,
  redisConnection,
  redisReadyCheck,
  type SlaJobData,
  SlaQueue,
} from '@citysoc/queues';
import { Counter } from 'prom-client';
import {
  type ControlStore,
  type Incident,
  type IncidentStore,
  openControlStore,
  openIncidentStore,
  prepareIncidentStore,
  upkeepIncidentStore,
} from '@citysoc/store';
import { groupingPolicy, type responderSchema } from './config';

export const RESPONDER_CONFIG = Symbol('RESPONDER_CONFIG');
export type ResponderConfig = ConfigOf<typeof responderSchema>;

/**
 * ALERTS → incidents. Each alert is recorded in one transaction (grouping is idempotent on the alert id),
 * then the incident's BullMQ job is added (idempotent on the incident id) and the incident marked queued.
 * A crash between those steps leaves `queued = 0`, which the start-up sweep and redelivery both repair.
 */
/** How often the responder finishes what a crash interrupted in the incident store (Elasticsearch only). */
const INCIDENT_UPKEEP_MS = 30_000;

@Injectable()
export class ResponderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('responder');
  private readonly metrics = new ComponentMetrics('responder');
  private bus?: Bus;
  private control?: ControlStore;
  private incidents?: IncidentStore;
  private upkeep?: NodeJS.Timeout;
  private queue?: IncidentQueue;
  private sla?: SlaQueue;
  private readonly slaBreaches = new Counter({
    name: 'citysoc_sla_breaches_total',
    help: 'Incidents that missed an SLA deadline',
    labelNames: ['kind', 'severity'],
    registers: [this.metrics.registry],
  });
  /** Drill incidents' breaches: counted apart, never in citysoc_sla_breaches_total (the shared drill filter). */
  private readonly drillSlaBreaches = new Counter({
    name: 'citysoc_drill_sla_breaches_total',
    help: 'Drill incidents that missed an SLA deadline (kept out of citysoc_sla_breaches_total)',
    labelNames: ['kind', 'severity'],
    registers: [this.metrics.registry],
  });
  private readonly notifications = new Counter({
    name: 'citysoc_notifications_total',
    help: 'Notification deliveries by channel and outcome (failed = attempts exhausted; retry = will retry; dry_run = recorded for a drill incident, not sent)',
    labelNames: ['channel', 'outcome'],
    registers: [this.metrics.registry],
  });
  private notify?: NotifyQueue;
  /** Drill runs, for whether a drill incident's notifications are sent or only recorded. */
  private drillRuns?: DrillRunRegistry;
  private redis?: Redis;
  private consumer?: DurableConsumer<Alert>;
  private metricsServer?: { close(): Promise<void> };

  constructor(@Inject(RESPONDER_CONFIG) private readonly config: ResponderConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const control = openControlStore(c.dataDir);
    this.control = control;
    const incidents = openIncidentStore(c, control);
    await prepareIncidentStore(incidents, (m) => this.logger.warn(m));
    this.incidents = incidents;
    this.upkeep = setInterval(() => void this.upkeepIncidents(incidents), INCIDENT_UPKEEP_MS);
    this.upkeep.unref();
    const redis = redisConnection(c.redisUrl);
    this.redis = redis;
    const queue = new IncidentQueue({ redisUrl: c.redisUrl, prefix: c.queuePrefix }, redis);
    this.queue = queue;
    if (c.notifyWebhookUrls.length > 0 && c.notifyWebhookSecret.length < 16)
      throw new Error(
        'CITYSOC_NOTIFY_WEBHOOK_SECRET (≥ 16 characters) is required with CITYSOC_NOTIFY_WEBHOOK_URLS',
      );
    this.notify = new NotifyQueue(c.queuePrefix, redis, {
      webhookUrls: c.notifyWebhookUrls,
      webhookSecret: c.notifyWebhookSecret,
      smtpUrl: c.notifySmtpUrl,
      emailFrom: c.notifyEmailFrom,
      leadEmails: c.notifyLeadEmails,
      attempts: c.notifyAttempts,
      backoffMs: c.notifyBackoffMs,
      timeoutMs: 10_000,
    });
    this.notify.start({
      delivered: (j) => this.notifications.inc({ channel: j.channel, outcome: 'delivered' }),
      failed: (j, err, final) => {
        this.notifications.inc({ channel: j.channel, outcome: final ? 'failed' : 'retry' });
        if (final) this.logger.error(`notification ${j.key} to ${j.channel} failed for good: ${err.message}`);
      },
    });
    this.sla = new SlaQueue(c.queuePrefix, redis);
    this.sla.start((job) => this.onSlaTimer(job));
    for (const inc of await incidents.listUnqueued()) await this.enqueue(inc);

    const bus = await openBus(c, 'responder');
    this.bus = bus;
    this.drillRuns = await DrillRunRegistry.open(bus);
    const policy = groupingPolicy(c);
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
          const r = await incidents.recordAlert(alert, policy);
          // tighten() runs for every queued incident, redeliveries included: a crash between recording a
          // severity-raising alert and scheduling its stricter timers is repaired when the alert comes back.
          if (!r.incident.queued) await this.enqueue(r.incident);
          else await this.tighten(r.incident);
          if (r.created)
            this.logger.log(`incident ${r.incident.id} opened: ${r.incident.title} (${r.incident.severity})`);
          if (r.reopened) this.logger.log(`incident ${r.incident.id} reopened by late alert ${alert.id}`);
        }
      },
    );
    if (c.metricsPort >= 0) {
      this.metricsServer = await startMetricsServer(
        this.metrics,
        {
          nats: async () => ({ ok: !bus.nc.isClosed() }),
          // Not ready on a Redis that does not persist: incident, SLA and notification jobs would be lost.
          redis: redisReadyCheck(redis, c.redisAllowVolatile),
        },
        c.metricsPort,
        c.metricsHost,
      );
    }
    this.logger.log('responder started');
  }

  /** A missed deadline is recorded once, moves the incident to the front of the queue, and is counted. */
  private async onSlaTimer(job: SlaJobData): Promise<void> {
    const incidents = this.incidents!;
    const inc = await incidents.get(job.incidentId);
    const generation = job.generation ?? 0;
    // A timer of an earlier opening of a reopened incident is stale.
    if (!inc || inc.generation !== generation || !slaBreached(job.kind, inc.status)) return;
    const first = await incidents.recordSlaBreach(inc.id, job.kind, Date.now(), generation);
    // Escalating and notifying are idempotent, so a retried timer (crash after recording) still does both.
    const escalated = await this.queue!.escalate(inc.id);
    const what = job.kind === 'acknowledge' ? 'acknowledged' : 'resolved';
    // A drill incident's breach is recorded, not sent, unless its scenario opted in (issue 9).
    const runId = drillRunOf(inc);
    const run = runId ? await this.drillRuns?.get(runId).catch(() => undefined) : undefined;
    const dryRun = drillNotifyDryRun(inc, run ?? undefined);
    const sent = await this.notify!.notify(
      {
        key: `sla_breach:${inc.id}:${job.kind}:${generation}`,
        subject: `[citysoc] SLA breached: ${inc.severity} incident not ${what} in time — ${inc.title}`,
        payload: {
          type: 'sla_breach',
          kind: job.kind,
          due: new Date(job.dueMs).toISOString(),
          incident: {
            id: inc.id,
            title: inc.title,
            severity: inc.severity,
            priority: inc.priority,
            status: inc.status,
            assignee: inc.assignee,
            unit: inc.unit?.path ?? null,
          },
        },
      },
      { toLeads: true, ...(dryRun !== undefined ? { dryRun } : {}) },
    );
    if (dryRun !== undefined && sent > 0)
      this.notifications.inc({ channel: 'all', outcome: 'dry_run' }, sent);
    if (!first) return;
    (isDrill(inc) ? this.drillSlaBreaches : this.slaBreaches).inc({ kind: job.kind, severity: inc.severity });
    this.logger.warn(
      `SLA breached for incident ${inc.id} (${inc.severity}): not ${what} in time${escalated ? '; moved to the front of the queue' : ''}`,
    );
  }

  private async enqueue(incident: Incident): Promise<void> {
    // Timers first, then the job, then the flag: a crash anywhere here is repaired by re-running all three.
    const since = Date.parse(incident.reopened_at ?? incident.created_at);
    const deadlines = slaDeadlines(
      incident.severity,
      since,
      slaPolicyFor(this.config.slaPolicy, incident.unit?.path),
      this.config.slaBusinessHours ?? undefined,
    );
    await this.incidents!.setSlaDeadlines(incident.id, deadlines);
    await this.sla!.schedule(incident.id, deadlines, Date.now(), incident.generation);
    await this.queue!.enqueue(incident);
    await this.incidents!.markQueued(incident.id);
    this.metrics.sent.inc({ component: 'responder' });
  }

  /**
   * When a later alert raised the severity, the stricter deadlines (from the same start) are scheduled beside
   * the old ones and the queued job moves up. The store is updated last, so until it is, every redelivery
   * or later alert finds the deadlines still stricter and redoes the (idempotent) steps.
   */
  private async tighten(incident: Incident): Promise<void> {
    const since = Date.parse(incident.reopened_at ?? incident.created_at);
    const deadlines = slaDeadlines(
      incident.severity,
      since,
      slaPolicyFor(this.config.slaPolicy, incident.unit?.path),
      this.config.slaBusinessHours ?? undefined,
    );
    const current = incident.sla;
    const stricter = deadlines.filter((d) => {
      const due = d.kind === 'acknowledge' ? current.acknowledge_due : current.resolve_due;
      return due === null || d.dueMs < Date.parse(due);
    });
    if (stricter.length === 0 || isClosed(incident.status)) return;
    await this.sla!.schedule(incident.id, stricter, Date.now(), incident.generation, incident.severity);
    await this.queue!.reprioritize(incident.id, incident.priority);
    await this.incidents!.setSlaDeadlines(incident.id, stricter);
  }

  /** Completes merges/splits a crash left half-done on Elasticsearch (SQLite needs nothing). */
  private async upkeepIncidents(incidents: IncidentStore): Promise<void> {
    try {
      const r = await upkeepIncidentStore(incidents);
      if (r && r.completed > 0)
        this.logger.warn(`incident store upkeep: ${r.completed} interrupted merge/split finished`);
      if (r && r.auditPending > 0)
        this.logger.warn(`incident store upkeep: ${r.auditPending} incident(s) with audit entries pending`);
    } catch (err) {
      this.logger.warn(
        `incident store upkeep failed (retried in ${INCIDENT_UPKEEP_MS / 1000} s): ${(err as Error).message}`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.upkeep) clearInterval(this.upkeep);
    await this.consumer?.stop();
    await this.metricsServer?.close();
    await this.bus?.close();
    await this.sla?.close();
    await this.notify?.close();
    await this.queue?.close();
    this.redis?.disconnect();
    this.control?.close();
  }
}
