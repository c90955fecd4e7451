import { uniquePrefix, waitFor } from '@citysoc/testing';
import { IncidentQueue, jobPriority, redisConnection } from './incidents-queue';

describe('the incident queue on real Redis', () => {
  const url = process.env.CITYSOC_REDIS_URL ?? 'redis://127.0.0.1:6379';
  let queue: IncidentQueue;
  let redis: ReturnType<typeof redisConnection>;
  beforeEach(() => {
    redis = redisConnection(url);
    // A one-second claim lock, checked every 200 ms: abandoned claims come back within the test.
    queue = new IncidentQueue(
      { redisUrl: url, prefix: `citysoc-${uniquePrefix()}`, lockMs: 1000, stalledIntervalMs: 200 },
      redis,
    );
  });
  afterEach(async () => {
    await queue.queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });

  const inc = (id: string, priority: number) => ({ id, severity: 'high' as const, title: id, priority });
  const take = (id: string) => ({ claim: id });

  it('keeps one job per incident however often it is enqueued', async () => {
    await queue.enqueue(inc('inc-1', 4));
    await queue.enqueue(inc('inc-1', 4));
    const counts = await queue.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('hands out the highest severity × criticality first and skips those the store refuses', async () => {
    await queue.enqueue(inc('low-in-critical-unit', 8));
    await queue.enqueue(inc('critical-in-critical-unit', 20));
    await queue.enqueue(inc('refused', 16));
    await queue.enqueue(inc('critical-in-low-unit', 5));
    const order: string[] = [];
    for (;;) {
      const got = await queue.claimNext(async (d) =>
        d.incidentId === 'refused' ? { skip: true as const } : take(d.incidentId),
      );
      if (!got) break;
      order.push(got.value);
    }
    expect(order).toEqual(['critical-in-critical-unit', 'low-in-critical-unit', 'critical-in-low-unit']);
    expect((await queue.getJob('refused'))?.returnvalue).toBe('skipped');
    expect(jobPriority(20)).toBe(2);
    expect(jobPriority(1)).toBe(21);
  });

  it('keeps a claimed job active while its holder renews the lock, and completes it on resolve', async () => {
    await queue.enqueue(inc('inc-r', 10));
    const claimed = await queue.claimNext(async (d) => take(d.incidentId));
    expect(claimed?.value).toBe('inc-r');
    expect(await queue.renew('inc-r', claimed!.token)).toBe(true);
    expect(await queue.renew('inc-r', 'someone-else')).toBe(false);
    expect(await queue.getJob('inc-r').then((j) => j?.getState())).toBe('active');
    expect(await queue.claimNext(async (d) => take(d.incidentId))).toBeUndefined();
    await queue.complete('inc-r', claimed!.token, 'resolved');
    expect(await queue.getJob('inc-r').then((j) => j?.getState())).toBe('completed');
  });

  it('returns an abandoned claim to the queue when its lock lapses', async () => {
    await queue.startReturningAbandonedClaims();
    await queue.enqueue(inc('inc-a', 10));
    const first = await queue.claimNext(async (d) => take(d.incidentId));
    expect(first?.value).toBe('inc-a');
    // Nobody renews: the stalled check moves it back; the next claimer gets it with a new lock.
    const second = await waitFor(
      async () => queue.claimNext(async (d) => take(d.incidentId)),
      'the abandoned claim to come back',
      15_000,
    );
    expect(second.value).toBe('inc-a');
    expect(second.token).not.toBe(first!.token);
    expect(await queue.renew('inc-a', first!.token)).toBe(false);
    expect(await queue.renew('inc-a', second.token)).toBe(true);
  });

  it('delays a job whose incident is still held, releases, and re-adds a reopened incident', async () => {
    await queue.enqueue(inc('inc-h', 10));
    const held = Date.now() + 60_000;
    expect(await queue.claimNext(async () => ({ heldUntilMs: held }))).toBeUndefined();
    expect(await queue.getJob('inc-h').then((j) => j?.getState())).toBe('delayed');
    await queue.complete('inc-h', null, 'resolved');
    expect(await queue.getJob('inc-h')).toBeUndefined();

    await queue.enqueue(inc('inc-x', 10));
    const c = await queue.claimNext(async (d) => take(d.incidentId));
    await queue.release('inc-x', c!.token);
    const again = await queue.claimNext(async (d) => take(d.incidentId));
    expect(again?.value).toBe('inc-x');
    await queue.complete('inc-x', again!.token, 'resolved');
    await queue.enqueue(inc('inc-x', 10));
    expect(await queue.getJob('inc-x').then((j) => j?.getState())).toBe('prioritized');
  });

  it('lets a unit-scoped claimer pass over other units’ jobs without disturbing them', async () => {
    await queue.enqueue(inc('other-unit-1', 20));
    await queue.enqueue(inc('other-unit-2', 16));
    await queue.enqueue(inc('mine', 4));
    const got = await queue.claimNext(async (d) =>
      d.incidentId === 'mine' ? take(d.incidentId) : { pass: true as const },
    );
    expect(got?.value).toBe('mine');
    const order: string[] = [];
    for (;;) {
      const next = await queue.claimNext(async (d) => take(d.incidentId));
      if (!next) break;
      order.push(next.value);
    }
    expect(order).toEqual(['other-unit-1', 'other-unit-2']);
  });

  it('puts a job back when claiming it fails', async () => {
    await queue.enqueue(inc('inc-e', 10));
    await expect(queue.claimNext(async () => Promise.reject(new Error('store down')))).rejects.toThrow(
      'store down',
    );
    expect((await queue.claimNext(async (d) => take(d.incidentId)))?.value).toBe('inc-e');
  });

  it('moves an escalated job to the front', async () => {
    await queue.enqueue(inc('first', 20));
    await queue.enqueue(inc('late', 1));
    expect(await queue.escalate('late')).toBe(true);
    expect((await queue.claimNext(async (d) => take(d.incidentId)))?.value).toBe('late');
  });
});
