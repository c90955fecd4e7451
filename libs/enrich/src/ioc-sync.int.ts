import { openBus, openKv } from '@citysoc/bus';
import { cleanupStreams, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';
import { IOC_BUCKET, IocBucketWriter, IocWatch, syncIocBucket } from './ioc-sync';
import { type IocEntry } from './iocs';

const ioc = (type: IocEntry['type'], value: string, id = 'indicator--1'): IocEntry => ({
  type,
  value,
  source: 'national:c1',
  indicator_id: id,
});

/** Reporter → KV bucket → detector replicas, on real JetStream. */
describe('IOC bucket', () => {
  const prefix = uniquePrefix();
  afterAll(() => cleanupStreams(prefix));

  it('a replica sees what the bucket holds at start, later additions and removals', async () => {
    const writer = await openBus(testBusSettings(prefix), 'reporter');
    const reader = await openBus(testBusSettings(prefix), 'detector');
    try {
      const wkv = await openKv(writer, IOC_BUCKET);
      expect(
        await syncIocBucket(wkv, [ioc('ipv4-addr', '198.51.100.7'), ioc('domain-name', 'evil.example')]),
      ).toEqual({ put: 2, deleted: 0 });
      const errors: Error[] = [];
      const watch = await IocWatch.start(await openKv(reader, IOC_BUCKET), (e) => errors.push(e));
      try {
        expect(watch.current.size).toBe(2);
        expect(watch.current.domain('a.evil.example')?.indicator_id).toBe('indicator--1');

        // Unchanged entries are not written again; a dropped one is deleted, a new one put.
        expect(
          await syncIocBucket(wkv, [
            ioc('domain-name', 'evil.example'),
            ioc('ipv6-addr', '2001:db8::66', 'indicator--2'),
          ]),
        ).toEqual({ put: 1, deleted: 1 });
        await waitFor(() => watch.current.ip('2001:DB8:0::66'), 'the new IOC reaches the replica');
        expect(watch.current.ip('198.51.100.7')).toBeUndefined();
        expect(watch.current.size).toBe(2);
        expect(errors).toEqual([]);
      } finally {
        watch.stop();
      }
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('a long-lived writer diffs against what it wrote; a new writer reads the bucket first', async () => {
    const bus = await openBus(testBusSettings(`${prefix}w`), 'reporter');
    try {
      const kv = await openKv(bus, IOC_BUCKET);
      const first = new IocBucketWriter(kv);
      const set = [ioc('ipv4-addr', '203.0.113.9'), ioc('domain-name', 'c2.example')];
      expect(await first.sync(set)).toEqual({ put: 2, deleted: 0 });
      expect(await first.sync(set)).toEqual({ put: 0, deleted: 0 });
      // A changed entry (same key, new indicator) is written again.
      expect(await first.sync([set[0]!, ioc('domain-name', 'c2.example', 'indicator--9')])).toEqual({
        put: 1,
        deleted: 0,
      });
      const restarted = new IocBucketWriter(kv);
      expect(await restarted.sync([ioc('domain-name', 'c2.example', 'indicator--9')])).toEqual({
        put: 0,
        deleted: 1,
      });
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      expect(keys).toHaveLength(1);
    } finally {
      await bus.close();
    }
  });

  it('an empty bucket starts an empty set', async () => {
    const bus = await openBus(testBusSettings(`${prefix}e`), 'detector');
    try {
      const watch = await IocWatch.start(await openKv(bus, IOC_BUCKET), (e) => {
        throw e;
      });
      expect(watch.current.size).toBe(0);
      watch.stop();
    } finally {
      await bus.close();
      await cleanupStreams(`${prefix}e`);
    }
  });
});
