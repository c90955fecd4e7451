import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Bus, openBus, openKv } from '@citysoc/bus';
import { NatsCluster, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';

/**
 * An app that starts while JetStream has no quorum (two of three nodes down, as after a power cut or
 * during a rolling restart) waits for it and comes up, instead of exiting on the first API timeout and
 * leaving the rest to its supervisor's restart delay. Real three-node cluster on loopback.
 */
describe('starting an app while NATS has no JetStream quorum (real 3-node cluster)', () => {
  let dir: string;
  let cluster: NatsCluster;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-start-retry-'));
    cluster = await NatsCluster.start(dir, 3);
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries declaring its streams and buckets until the quorum is back', async () => {
    await cluster.node('n2').proc.stop();
    await cluster.node('n3').proc.stop();
    const retries: string[] = [];
    const settings = { ...testBusSettings(uniquePrefix()), natsUrl: cluster.urls, natsStartRetryMs: 120_000 };
    let bus: Bus | undefined;
    let failed: unknown;
    const opening = openBus(settings, 'start-retry-test', 20, {
      onStartRetry: (step, reason) => retries.push(`${step}: ${reason}`),
    }).then(
      (b) => (bus = b),
      (err: unknown) => (failed = err),
    );
    try {
      // Without a quorum no stream can be declared: the step fails, and is retried rather than thrown.
      await waitFor(() => retries.length > 0 || failed !== undefined, 'a first failed attempt', 60_000);
      expect(failed).toBeUndefined();
      expect(bus).toBeUndefined();
      expect(retries[0]).toMatch(
        /declaring the streams: (timeout|no_responders|jetstream_unavailable|leader_election)/,
      );
      cluster.node('n2').proc.start();
      await opening;
      expect(failed).toBeUndefined();
      const ready = bus as unknown as Bus;
      const kv = await openKv(ready, 'start-retry');
      await kv.put('k', 'v');
      expect((await kv.get('k'))?.string()).toBe('v');
      const ack = await ready.js.publish(ready.names.eventsSubject('test', 'udp'), Buffer.from('{}'));
      expect(ack.seq).toBe(1);
    } finally {
      cluster.node('n2').proc.start();
      cluster.node('n3').proc.start();
      await opening;
      await bus?.close();
    }
  }, 180_000);
});
