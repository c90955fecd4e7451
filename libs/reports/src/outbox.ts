import { type ConnectionOptions, Queue, Worker } from 'bullmq';
import { type Deliverer } from './deliver';

export const REPORTS_QUEUE = 'reports';

export interface ReportJobData {
  reportId: string;
}

/** Thrown to make BullMQ retry; carries the server's Retry-After when it sent one. */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/** Exponential with full jitter, capped, never shorter than the server's Retry-After. */
export function backoffDelay(
  attemptsMade: number,
  s: BackoffSettings,
  err?: unknown,
  rand = Math.random,
): number {
  const exp = Math.min(s.maxMs, s.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(exp / 2 + (rand() * exp) / 2);
  const after = err instanceof RetryLater && err.retryAfterMs !== undefined ? err.retryAfterMs : 0;
  return Math.max(jittered, Math.min(after, s.maxMs));
}

/**
 * The delivery queue. The job id is the report version id, so enqueueing a version twice is a no-op while
 * it waits; a job that ran out of attempts is removed, and the reporter's sweep enqueues every version
 * still pending in SQLite again, so retries go on (capped backoff) until the centre answers.
 */
export class ReportOutbox {
  readonly queue: Queue<ReportJobData>;
  private worker?: Worker<ReportJobData>;

  constructor(
    private readonly prefix: string,
    private readonly connection: ConnectionOptions,
    private readonly backoff: BackoffSettings = { baseMs: 5_000, maxMs: 15 * 60_000 },
  ) {
    this.queue = new Queue<ReportJobData>(REPORTS_QUEUE, { connection, prefix });
  }

  async enqueue(reportId: string): Promise<void> {
    await this.queue.add(
      'deliver',
      { reportId },
      {
        jobId: reportId,
        attempts: 12,
        backoff: { type: 'citysoc' },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  start(deliverer: Deliverer): Worker<ReportJobData> {
    this.worker ??= new Worker<ReportJobData>(
      REPORTS_QUEUE,
      async (job) => {
        const r = await deliverer.deliver(job.data.reportId, job.attemptsMade + 1);
        if (r.outcome === 'retry')
          throw new RetryLater(r.delivery.error ?? 'transient delivery failure', r.retryAfterMs);
        return r.outcome;
      },
      {
        connection: this.connection,
        prefix: this.prefix,
        // One delivery at a time keeps envelopes in order (markings and identities before what refers to them).
        concurrency: 1,
        // A reporter killed mid-delivery leaves its job active; a short lock (renewed every 5 s while a
        // delivery runs) lets a restarted reporter take it over within seconds instead of a minute.
        lockDuration: 10_000,
        stalledInterval: 5_000,
        settings: {
          backoffStrategy: (attemptsMade, _type, err) => backoffDelay(attemptsMade, this.backoff, err),
        },
      },
    );
    return this.worker;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
