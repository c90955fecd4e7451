import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { type Severity } from '@citysoc/ecs';
import { MAX_PRIORITY_SCORE } from '@citysoc/incidents';

// Kept here too: callers imported it from this module before Sentinel support moved it to ./redis.
export { redisConnection } from './redis';

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
  /** How long a claim holds its job without a heartbeat (ms). */
  lockMs?: number;
  /** How often abandoned claims are looked for (ms); defaults to half the lock. */
  stalledIntervalMs?: number;
}

/** What `accept` says about a job handed out by the queue. */
export type ClaimVerdict<T> =
  | { claim: T }
  /** Gone or closed: the job is finished. */
  | { skip: true }
  /** Someone's claim is still live in the store: the job waits until then. */
  | { heldUntilMs: number }
  /** Not this claimer's to take (outside their unit): it goes back for others, at its priority. */
  | { pass: true };

export interface Claimed<T> {
  value: T;
  /** The BullMQ lock token: renewing and completing the job need it. */
  token: string;
  /** How long the incident waited in the queue (ms). */
  waitedMs: number;
}

/** BullMQ priority from the incident's priority score (1–20, higher is more urgent); 1 is kept for escalation. */
export function jobPriority(score: number): number {
  return Math.min(MAX_PRIORITY_SCORE + 1, Math.max(2, MAX_PRIORITY_SCORE + 2 - Math.round(score)));
}

/**
 * The response team's work queue. The job id is the incident id, so enqueueing the same incident twice is a
 * no-op in Redis; priority comes from severity × unit criticality. Claiming is BullMQ manual processing:
 * the job stays active under a lock the responder renews (heartbeat); if the responder disappears, the lock
 * lapses and the stalled-job check puts the job back in the queue for the next claimer. Resolving the
 * incident completes the job.
 */
export class IncidentQueue {
  readonly queue: Queue<IncidentJobData>;
  private worker?: Worker<IncidentJobData>;
  readonly lockMs: number;

  constructor(
    private readonly settings: QueueSettings,
    private readonly connection: ConnectionOptions,
  ) {
    this.lockMs = settings.lockMs ?? 5 * 60_000;
    this.queue = new Queue<IncidentJobData>(settings.name ?? INCIDENTS_QUEUE, {
      connection,
      prefix: settings.prefix,
    });
  }

  /**
   * Adds the incident's job, or re-adds it when the incident was reopened after its job finished. A job
   * that is waiting or claimed is left as it is.
   */
  async enqueue(incident: {
    id: string;
    severity: Severity;
    title: string;
    priority: number;
  }): Promise<void> {
    const existing = await this.queue.getJob(incident.id);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed') return;
      await existing.remove();
    }
    await this.queue.add(
      'incident',
      { incidentId: incident.id, severity: incident.severity, title: incident.title },
      {
        jobId: incident.id,
        priority: jobPriority(incident.priority),
        removeOnComplete: { age: 30 * 24 * 3600 },
        removeOnFail: false,
      },
    );
  }

  /**
   * Takes the highest-priority waiting job and asks `accept` (the store) whether it can be claimed. A
   * claimed job stays active under this claim's lock; skipped jobs are completed; held ones are delayed
   * until the current claim would lapse. Errors put the job back.
   */
  async claimNext<T>(
    accept: (data: IncidentJobData, token: string) => Promise<ClaimVerdict<T>>,
  ): Promise<Claimed<T> | undefined> {
    const worker = this.manualWorker();
    // Jobs passed over are held (active) until the search ends, so the next fetch gets the next job.
    const passed: Array<{ job: Job<IncidentJobData>; token: string }> = [];
    try {
      for (let i = 0; i < this.searchLimit; i++) {
        const token = randomUUID();
        const job = await worker.getNextJob(token, { block: false });
        if (!job) return undefined;
        let verdict: ClaimVerdict<T>;
        try {
          verdict = await accept(job.data, token);
        } catch (err) {
          await job.moveToWait(token);
          throw err;
        }
        if ('claim' in verdict) return { value: verdict.claim, token, waitedMs: Date.now() - job.timestamp };
        if ('pass' in verdict) passed.push({ job, token });
        else if ('heldUntilMs' in verdict)
          await job.moveToDelayed(Math.max(verdict.heldUntilMs, Date.now() + 1), token);
        else await job.moveToCompleted('skipped', token, false);
      }
      return undefined;
    } finally {
      for (const p of passed) await p.job.moveToWait(p.token).catch(() => undefined);
    }
  }

  /** How many jobs one claim looks at before giving up (a unit-scoped responder skips others' jobs). */
  searchLimit = 500;

  /** Heartbeat: the claim's lock lasts another `lockMs`. False when the lock was lost (it had lapsed). */
  async renew(incidentId: string, token: string): Promise<boolean> {
    const job = await this.queue.getJob(incidentId);
    if (!job) return false;
    return (await job.extendLock(token, this.lockMs)) === 1;
  }

  /** The incident is released: its job goes back to the queue at its priority. */
  async release(incidentId: string, token: string | null): Promise<void> {
    const job = await this.queue.getJob(incidentId);
    if (!job || !token || (await job.getState()) !== 'active') return;
    try {
      await job.moveToWait(token);
    } catch {
      // The lock had already lapsed and the stalled check returned the job: it is waiting already.
    }
  }

  /**
   * The incident is closed: complete its job with the claim's token, or take it off the queue when it was
   * closed without a claim (bulk false positive) or its claim had lapsed.
   */
  async complete(incidentId: string, token: string | null, outcome: string): Promise<void> {
    const job = await this.queue.getJob(incidentId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return;
    if (state === 'active' && token) {
      try {
        await job.moveToCompleted(outcome, token, false);
        return;
      } catch {
        // Lost the lock; whoever holds it will find the incident closed and skip it.
      }
    }
    if (state !== 'active') await job.remove();
  }

  /** A waiting incident whose priority score rose moves up (an escalated one stays at the front). */
  async reprioritize(incidentId: string, score: number): Promise<void> {
    const job = await this.queue.getJob(incidentId);
    if (!job) return;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'prioritized' && state !== 'delayed') return;
    const priority = jobPriority(score);
    if (job.priority > priority) await job.changePriority({ priority });
  }

  /** Moves a waiting incident to the front of the queue (an SLA breach escalates it). */
  async escalate(incidentId: string): Promise<boolean> {
    const job = await this.queue.getJob(incidentId);
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'prioritized' && state !== 'delayed') return false;
    await job.changePriority({ priority: 1 });
    return true;
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed');
  }

  /** Age of the oldest incident waiting to be claimed (ms), 0 when none waits. */
  async oldestWaitMs(now = Date.now()): Promise<number> {
    const jobs = await this.queue.getJobs(['prioritized', 'waiting'], 0, 199, true);
    const oldest = jobs.reduce((m, j) => Math.min(m, j.timestamp), now);
    return Math.max(0, now - oldest);
  }

  async getJob(id: string): Promise<Job<IncidentJobData> | undefined> {
    return this.queue.getJob(id);
  }

  /**
   * Starts looking for lapsed claims. One API process is enough; several are harmless (the check is a
   * Redis script).
   */
  async startReturningAbandonedClaims(): Promise<void> {
    await this.manualWorker().startStalledCheckTimer();
  }

  private manualWorker(): Worker<IncidentJobData> {
    this.worker ??= new Worker<IncidentJobData>(this.settings.name ?? INCIDENTS_QUEUE, null, {
      connection: this.connection,
      prefix: this.settings.prefix,
      autorun: false,
      lockDuration: this.lockMs,
      stalledInterval: this.settings.stalledIntervalMs ?? Math.max(1000, Math.floor(this.lockMs / 2)),
      // An abandoned claim must always come back, however often it is abandoned.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
    });
    return this.worker;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
