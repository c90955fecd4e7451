import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type Severity } from '@citysoc/ecs';
import { queuePriority } from '@citysoc/incidents';

export const INCIDENTS_QUEUE = 'incidents';

export interface IncidentJobData {
  incidentId: string;
  severity: Severity;
  title: string;
}

export interface QueueSettings {
  redisUrl: string;
  prefix: string;
  name?: string;
}

export function redisConnection(url: string): Redis {
  // BullMQ workers block on Redis; a finite retry count would turn a Redis restart into a crash.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

/**
 * The response team's work queue. The job id is the incident id, so enqueueing the same incident twice is a
 * no-op in Redis, and priorities come from the incident's severity (critical first).
 */
export class IncidentQueue {
  readonly queue: Queue<IncidentJobData>;
  private worker?: Worker<IncidentJobData>;

  constructor(
    private readonly settings: QueueSettings,
    private readonly connection: ConnectionOptions,
  ) {
    this.queue = new Queue<IncidentJobData>(settings.name ?? INCIDENTS_QUEUE, {
      connection,
      prefix: settings.prefix,
    });
  }

  async enqueue(incident: { id: string; severity: Severity; title: string }): Promise<void> {
    await this.queue.add(
      'incident',
      { incidentId: incident.id, severity: incident.severity, title: incident.title },
      {
        jobId: incident.id,
        priority: queuePriority(incident.severity),
        removeOnComplete: { age: 30 * 24 * 3600 },
        removeOnFail: false,
      },
    );
  }

  /**
   * Takes the highest-priority waiting job. `accept` decides whether the incident can still be claimed (it
   * may have been worked on directly); rejected jobs are completed and the next one is tried.
   */
  async claimNext<T>(accept: (data: IncidentJobData) => Promise<T | undefined>): Promise<T | undefined> {
    const worker = this.manualWorker();
    for (let i = 0; i < 100; i++) {
      const token = randomUUID();
      const job = await worker.getNextJob(token, { block: false });
      if (!job) return undefined;
      let result: T | undefined;
      try {
        result = await accept(job.data);
      } catch (err) {
        // Put it back for someone else rather than losing it.
        await job.moveToFailed(err instanceof Error ? err : new Error(String(err)), token, false);
        await job.retry('failed');
        throw err;
      }
      await job.moveToCompleted(result === undefined ? 'skipped' : 'claimed', token, false);
      if (result !== undefined) return result;
    }
    return undefined;
  }

  /** Moves a waiting incident to the front of the queue (an SLA breach escalates it). */
  async escalate(incidentId: string): Promise<boolean> {
    const job = await this.queue.getJob(incidentId);
    if (!job || (!(await job.isWaiting()) && (await job.getState()) !== 'prioritized')) return false;
    await job.changePriority({ priority: 1 });
    return true;
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed');
  }

  async getJob(id: string): Promise<Job<IncidentJobData> | undefined> {
    return this.queue.getJob(id);
  }

  private manualWorker(): Worker<IncidentJobData> {
    this.worker ??= new Worker<IncidentJobData>(this.settings.name ?? INCIDENTS_QUEUE, null, {
      connection: this.connection,
      prefix: this.settings.prefix,
      autorun: false,
    });
    return this.worker;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
