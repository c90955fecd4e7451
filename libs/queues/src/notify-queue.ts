import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import { createHash, createHmac } from 'node:crypto';
import { type Redis } from 'ioredis';
import nodemailer from 'nodemailer';

export const NOTIFY_QUEUE = 'notify';

export interface Notification {
  /** Stable, e.g. `sla_breach:<incident>:<kind>:<generation>`: one notification per fact. */
  key: string;
  subject: string;
  /** Machine-readable payload sent to webhooks and summarised in e-mails. */
  payload: Record<string, unknown>;
}

export type NotifyJobData = Notification &
  ({ channel: 'webhook'; url: string } | { channel: 'email'; to: string });

export interface NotifySettings {
  webhookUrls: string[];
  /** HMAC-SHA256 key for webhook signatures; required when webhooks are configured. */
  webhookSecret: string;
  smtpUrl: string;
  emailFrom: string;
  /** Addresses of the leads, who hear about SLA breaches. */
  leadEmails: string[];
  attempts: number;
  backoffMs: number;
  /** Per-request timeout for webhooks (ms). */
  timeoutMs: number;
}

export const SIGNATURE_HEADER = 'x-citysoc-signature';
export const TIMESTAMP_HEADER = 'x-citysoc-timestamp';

/**
 * Webhook signature: HMAC-SHA256 over `<timestamp>.<body>`, hex, sent as `v1=<hex>` with the timestamp in
 * its own header; receivers recompute it and refuse stale timestamps (replay protection).
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

export interface FailedNotification {
  id: string;
  channel: 'webhook' | 'email';
  target: string;
  key: string;
  subject: string;
  attempts: number;
  failed_reason: string;
  failed_at: string | null;
}

/** A notification of a drill incident that was recorded instead of sent (drill dry-run). */
export interface DryRunNotification {
  id: string;
  channel: 'webhook' | 'email';
  target: string;
  key: string;
  subject: string;
  /** Why it was not sent, e.g. `drill d-ABC123 (dry-run)`. */
  reason: string;
  recorded_at: string;
  payload: Record<string, unknown>;
}

/** Dry-run records kept (newest); older ones are trimmed. */
const DRY_RUN_KEEP = 10_000;

/**
 * Outbound notifications as BullMQ jobs: one job per (fact, recipient), idempotent on the job id, retried
 * with exponential backoff; a delivery that exhausts its attempts stays in the failed set (listed by the API,
 * counted in metrics), never dropped.
 */
export class NotifyQueue {
  readonly queue: Queue<NotifyJobData>;
  private worker?: Worker<NotifyJobData>;

  constructor(
    private readonly prefix: string,
    private readonly connection: ConnectionOptions,
    private readonly settings: NotifySettings,
  ) {
    this.queue = new Queue<NotifyJobData>(NOTIFY_QUEUE, { connection, prefix });
  }

  /** Whether anyone would hear about it. */
  get configured(): boolean {
    return this.settings.webhookUrls.length > 0 || this.settings.leadEmails.length > 0;
  }

  /**
   * Sends `n` to every webhook and, when `toLeads`, to every lead's address. Returns the jobs added (or, with
   * `dryRun`, the deliveries recorded instead: same recipients, same ids, nothing sent — a drill incident's
   * escalation must not page real people unless its scenario asked to).
   */
  async notify(n: Notification, opts: { toLeads: boolean; dryRun?: string }): Promise<number> {
    const jobs: NotifyJobData[] = [
      ...this.settings.webhookUrls.map((url) => ({ ...n, channel: 'webhook' as const, url })),
      ...(opts.toLeads
        ? this.settings.leadEmails.map((to) => ({ ...n, channel: 'email' as const, to }))
        : []),
    ];
    for (const data of jobs) {
      const target = data.channel === 'webhook' ? data.url : data.to;
      const id = createHash('sha256')
        .update(`${n.key}\n${data.channel}\n${target}`)
        .digest('hex')
        .slice(0, 32);
      if (opts.dryRun !== undefined) {
        await this.recordDryRun(id, data, target, opts.dryRun);
        continue;
      }
      await this.queue.add(data.channel, data, {
        jobId: id,
        attempts: this.settings.attempts,
        backoff: { type: 'exponential', delay: this.settings.backoffMs },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: false,
      });
    }
    return jobs.length;
  }

  start(hooks: {
    delivered(job: NotifyJobData): void;
    failed(job: NotifyJobData, err: Error, final: boolean): void;
  }): void {
    const transport = this.settings.smtpUrl ? nodemailer.createTransport(this.settings.smtpUrl) : undefined;
    this.worker ??= new Worker<NotifyJobData>(
      NOTIFY_QUEUE,
      async (job) => {
        const d = job.data;
        if (d.channel === 'webhook') await this.postWebhook(d.url, d);
        else {
          if (!transport) throw new Error('no SMTP server configured (CITYSOC_NOTIFY_SMTP_URL)');
          await transport.sendMail({
            from: this.settings.emailFrom,
            to: d.to,
            subject: d.subject,
            text: `${d.subject}\n\n${JSON.stringify(d.payload, null, 2)}\n`,
            headers: { 'X-Citysoc-Notification': d.key },
          });
        }
      },
      { connection: this.connection, prefix: this.prefix, concurrency: 4 },
    );
    this.worker.on('completed', (job) => hooks.delivered(job.data));
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      hooks.failed(job.data, err, job.attemptsMade >= (job.opts.attempts ?? 1));
    });
  }

  private async postWebhook(url: string, d: NotifyJobData): Promise<void> {
    const body = JSON.stringify({ key: d.key, subject: d.subject, ...d.payload });
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: ts,
        [SIGNATURE_HEADER]: signWebhook(this.settings.webhookSecret, ts, body),
      },
      body,
      signal: AbortSignal.timeout(this.settings.timeoutMs),
      redirect: 'error',
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook ${url} answered ${res.status}`);
  }

  async failed(start = 0, end = 99): Promise<FailedNotification[]> {
    const jobs = (await this.queue.getFailed(start, end)) as Array<Job<NotifyJobData>>;
    return jobs.map((j) => ({
      id: j.id ?? '',
      channel: j.data.channel,
      target: j.data.channel === 'webhook' ? j.data.url : j.data.to,
      key: j.data.key,
      subject: j.data.subject,
      attempts: j.attemptsMade,
      failed_reason: j.failedReason,
      failed_at: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
    }));
  }

  /** BullMQ's own connection (an ioredis client; its typing exposes only what BullMQ needs). */
  private async redis(): Promise<Redis> {
    return (await this.queue.client) as unknown as Redis;
  }

  private get dryRunKey(): string {
    return `${this.prefix}:${NOTIFY_QUEUE}:dry-run`;
  }

  /** Idempotent on the delivery id (a retried SLA timer records once), newest kept. */
  private async recordDryRun(id: string, d: NotifyJobData, target: string, reason: string): Promise<void> {
    const client = await this.redis();
    const rec: DryRunNotification = {
      id,
      channel: d.channel,
      target,
      key: d.key,
      subject: d.subject,
      reason,
      recorded_at: new Date().toISOString(),
      payload: d.payload,
    };
    const added = await client.hsetnx(`${this.dryRunKey}:docs`, id, JSON.stringify(rec));
    if (added === 1) {
      await client.zadd(this.dryRunKey, Date.now(), id);
      const excess = (await client.zcard(this.dryRunKey)) - DRY_RUN_KEEP;
      if (excess > 0) {
        const old = await client.zrange(this.dryRunKey, 0, excess - 1);
        await client.zremrangebyrank(this.dryRunKey, 0, excess - 1);
        if (old.length > 0) await client.hdel(`${this.dryRunKey}:docs`, ...old);
      }
    }
  }

  /** Deliveries recorded instead of sent (drill incidents), newest first. */
  async dryRuns(limit = 100): Promise<{ items: DryRunNotification[]; total: number }> {
    const client = await this.redis();
    const ids = await client.zrevrange(this.dryRunKey, 0, Math.max(0, limit - 1));
    const docs = ids.length > 0 ? await client.hmget(`${this.dryRunKey}:docs`, ...ids) : [];
    return {
      items: docs.filter((d): d is string => d !== null).map((d) => JSON.parse(d) as DryRunNotification),
      total: await client.zcard(this.dryRunKey),
    };
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
