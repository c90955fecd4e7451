import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { startRedis, startSentinel, uniquePrefix, waitFor, waitReplicaSynced } from '@citysoc/testing';
import { assertRedisDurable, redisConnection, redisReadyCheck, redisSettingsFromEnv } from './redis';

/** Durable Redis for BullMQ: a Redis of our own with AOF, the readiness check, a Sentinel-resolved client. */
describe('durable Redis', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-redis-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('readiness refuses a Redis without AOF unless volatile is allowed, and accepts one with AOF', async () => {
    const volatile = await startRedis(path.join(dir, 'volatile'), { aof: false });
    const durable = await startRedis(path.join(dir, 'durable'));
    const v = volatile.client();
    const d = durable.client();
    try {
      await expect(assertRedisDurable(v, false)).rejects.toThrow(/does not persist/);
      await expect(assertRedisDurable(v, true)).resolves.toMatchObject({ aof: false });
      await expect(assertRedisDurable(d, false)).resolves.toMatchObject({ aof: true, fsync: 'everysec' });
      // The apps' shared readiness check (API, responder, reporter) reports instead of throwing.
      await expect(redisReadyCheck(v, false)()).resolves.toMatchObject({ ok: false });
      await expect(redisReadyCheck(d, false)()).resolves.toEqual({
        ok: true,
        detail: 'aof on, appendfsync everysec',
      });
    } finally {
      v.disconnect();
      d.disconnect();
      await volatile.proc.stop();
      await durable.proc.stop();
    }
  }, 60_000);

  it('keeps every acknowledged BullMQ job across kill -9 with AOF everysec', async () => {
    const redis = await startRedis(path.join(dir, 'kill'));
    const prefix = `citysoc-${uniquePrefix()}`;
    const conn = redis.client();
    const q = new Queue('incidents', { connection: conn, prefix });
    try {
      for (let i = 0; i < 200; i++) await q.add('incident', { i }, { jobId: `inc-${i}` });
      // everysec: what was acknowledged more than a second ago is on disk.
      await new Promise((r) => setTimeout(r, 1500));
      await redis.proc.kill9();
      redis.proc.start();
      await waitFor(async () => (await q.getJobCounts('waiting')).waiting === 200, 'the jobs after restart');
      expect(await q.count()).toBe(200);
    } finally {
      await q.close();
      conn.disconnect();
      await redis.proc.stop();
    }
  }, 60_000);

  it('follows the master through Sentinel after a failover', async () => {
    const master = await startRedis(path.join(dir, 'master'));
    const replica = await startRedis(path.join(dir, 'replica'), { replicaOf: master.port });
    const sentinel = await startSentinel(path.join(dir, 'sentinel'), master.port, 'citysoc', 1000);
    await waitReplicaSynced(replica);
    const settings = redisSettingsFromEnv({
      CITYSOC_REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`,
      CITYSOC_REDIS_SENTINEL_NAME: 'citysoc',
    });
    const conn = redisConnection('redis://ignored-when-sentinels:6379', settings);
    const prefix = `citysoc-${uniquePrefix()}`;
    const q = new Queue('incidents', { connection: conn, prefix });
    const s = sentinel.client();
    try {
      for (let i = 0; i < 100; i++) await q.add('incident', { i }, { jobId: `inc-${i}` });
      // WAIT: the replica has every write before the master dies (the point of waiting for the sync).
      const m = master.client();
      expect(await m.call('WAIT', '1', '5000')).toBe(1);
      m.disconnect();
      await master.proc.kill9();
      await waitFor(
        async () =>
          ((await s.call('SENTINEL', 'get-master-addr-by-name', 'citysoc')) as string[])[1] ===
          String(replica.port),
        'sentinel to promote the replica',
        60_000,
      );
      for (let i = 100; i < 150; i++) await q.add('incident', { i }, { jobId: `inc-${i}` });
      expect(await q.count()).toBe(150);
      await assertRedisDurable(conn, false);
    } finally {
      s.disconnect();
      await q.close();
      conn.disconnect();
      await sentinel.proc.stop();
      await replica.proc.stop();
      await master.proc.stop();
    }
  }, 120_000);
});
