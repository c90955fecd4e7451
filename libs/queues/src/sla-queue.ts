import { type ConnectionOptions, Queue, Worker } from 'bullmq';
import { type SlaDeadline, type SlaKind } from '@citysoc/incidents';

export const SLA_QUEUE = 'sla';

export interface SlaJobData {
  incidentId: string;
  kind: SlaKind;
  dueMs: number;
  /** Which opening of the incident the timer belongs to (a reopened incident gets fresh timers). */
  generation?: number;
}

/**
 * SLA timers as delayed BullMQ jobs (they live in Redis, so they survive any app restart). The job id is
 * `<incident>-<kind>`, so scheduling twice is a no-op; the worker decides at fire time whether the deadline
 * was actually missed.
 */
export class SlaQueue {
  readonly queue: Queue<SlaJobData>;
  private worker?: Worker<SlaJobData>;

  constructor(
    private readonly prefix: string,
    private readonly connection: ConnectionOptions,
  ) {
    this.queue = new Queue<SlaJobData>(SLA_QUEUE, { connection, prefix });
  }

  async schedule(
    incidentId: string,
    deadlines: SlaDeadline[],
    nowMs = Date.now(),
    generation = 0,
    /**
     * Set when deadlines tightened (the severity rose, or a merge brought an earlier deadline): the tighter
     * timers are new jobs beside the old ones, told apart by this suffix (the severity, or `merge-…`).
     */
    suffix?: string,
  ): Promise<void> {
    for (const d of deadlines) {
      await this.queue.add(
        d.kind,
        { incidentId, kind: d.kind, dueMs: d.dueMs, generation },
        {
          // The first opening keeps the first release's ids, so timers already in Redis are not doubled.
          jobId:
            (generation === 0 ? `${incidentId}-${d.kind}` : `${incidentId}-${d.kind}-g${generation}`) +
            (suffix ? `-${suffix}` : ''),
          delay: Math.max(0, d.dueMs - nowMs),
          removeOnComplete: { age: 7 * 24 * 3600 },
          removeOnFail: false,
          attempts: 10,
          backoff: { type: 'exponential', delay: 1000 },
        },
      );
    }
  }

  start(handle: (job: SlaJobData) => Promise<void>): void {
    this.worker ??= new Worker<SlaJobData>(SLA_QUEUE, (job) => handle(job.data), {
      connection: this.connection,
      prefix: this.prefix,
      concurrency: 4,
    });
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
