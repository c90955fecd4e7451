import { uniquePrefix } from '@citysoc/testing';
import { IncidentQueue, redisConnection } from './incidents-queue';

describe('the incident queue on real Redis', () => {
  const url = process.env.CITYSOC_REDIS_URL ?? 'redis://127.0.0.1:6379';
  let queue: IncidentQueue;
  let redis: ReturnType<typeof redisConnection>;
  beforeEach(() => {
    redis = redisConnection(url);
    queue = new IncidentQueue({ redisUrl: url, prefix: `citysoc-${uniquePrefix()}` }, redis);
  });
  afterEach(async () => {
    await queue.queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });

  it('keeps one job per incident however often it is enqueued', async () => {
    await queue.enqueue({ id: 'inc-1', severity: 'low', title: 't' });
    await queue.enqueue({ id: 'inc-1', severity: 'low', title: 't' });
    const counts = await queue.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('hands out the most severe incident first and skips those the store refuses', async () => {
    await queue.enqueue({ id: 'low', severity: 'low', title: 't' });
    await queue.enqueue({ id: 'crit', severity: 'critical', title: 't' });
    await queue.enqueue({ id: 'high', severity: 'high', title: 't' });
    await queue.enqueue({ id: 'info', severity: 'informational', title: 't' });
    const order: string[] = [];
    for (;;) {
      const got = await queue.claimNext(async (d) => (d.incidentId === 'high' ? undefined : d.incidentId));
      if (!got) break;
      order.push(got);
    }
    expect(order).toEqual(['crit', 'low', 'info']);
    expect((await queue.getJob('high'))?.returnvalue).toBe('skipped');
  });

  it('puts a job back when claiming it fails', async () => {
    await queue.enqueue({ id: 'inc-x', severity: 'high', title: 't' });
    await expect(queue.claimNext(async () => Promise.reject(new Error('store down')))).rejects.toThrow(
      'store down',
    );
    expect(await queue.claimNext(async (d) => d.incidentId)).toBe('inc-x');
  });
});
