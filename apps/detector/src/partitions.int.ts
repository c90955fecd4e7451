import { type INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from 'nats';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { readStream, sshGuessingRules, waitFor } from '@citysoc/testing';
import { DetectorService } from './detector.service';
import { partitionOf } from './partitions';
import { DetectorTestbed } from './testbed.test';

const BASE_ID = '8a1d2a3c-0000-4000-8000-000000000001';
const CORR_ID = '8a1d2a3c-0000-4000-8000-000000000002';
const RULES = sshGuessingRules('8a1d2a3c', 4);
const PARTITIONS = 4;

/**
 * Two detector replicas share the work: stage 1 splits the events between them, each correlation group is
 * counted by the one replica that owns its partition, and a partition moves with its window when its owner
 * stops.
 */
describe('correlation partitions across two detector replicas', () => {
  const bed = new DetectorTestbed('partitions', RULES, {
    CITYSOC_DETECTOR_BATCH: '1',
    CITYSOC_DETECTOR_CORRELATION_PARTITIONS: String(PARTITIONS),
    CITYSOC_DETECTOR_LEASE_MS: '1500',
  });
  const { prefix } = bed;
  const apps = new Map<string, INestApplicationContext>();
  let nc: NatsConnection | undefined;
  let n = 0;

  afterAll(async () => {
    await nc?.close();
    for (const app of apps.values()) await app.close();
    await bed.cleanup();
  });

  const start = async (instance: string) => {
    const app = await bed.start({ CITYSOC_DETECTOR_INSTANCE: instance });
    apps.set(instance, app);
    return app.get(DetectorService);
  };
  const event = (ip: string): EcsEvent => {
    n++;
    return {
      '@timestamp': new Date(Date.parse('2026-11-27T03:00:00Z') + n * 1000).toISOString(),
      message: `Failed password for root from ${ip} port ${4000 + n} ssh2`,
      event: { id: `pev-${n}`, created: new Date().toISOString(), module: 'syslog' },
      source: { ip },
    };
  };
  const publish = (e: EcsEvent) =>
    nc!
      .jetstream()
      .publish(`${prefix}events.syslog.tcp`, Buffer.from(JSON.stringify(e)), { msgID: e.event.id });
  /** Stage 1 and every partition consumer have nothing pending. */
  const drained = async () => {
    const jsm = await nc!.jetstreamManager();
    const names = [[`${prefix}EVENTS`, `${prefix}detector`]];
    for (let p = 0; p < PARTITIONS; p++)
      names.push([`${prefix}CORRELATE`, `${prefix}detector-correlate-${p}`]);
    for (const [stream, durable] of names) {
      try {
        const info = await jsm.consumers.info(stream!, durable!);
        if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
      } catch {
        // a partition never taken has no consumer yet, and nothing was routed to it
      }
    }
    return true;
  };
  const correlationAlerts = async () =>
    (await readStream(`${prefix}ALERTS`))
      .map((m) => JSON.parse(Buffer.from(m.data).toString()) as Alert)
      .filter((a) => a.rule.id === CORR_ID);

  it('counts each group once and keeps a window when its partition moves', async () => {
    nc = await connect({ servers: bed.config().natsUrl });
    const a = await start('replica-a');
    const b = await start('replica-b');
    // Both replicas hold leases, on disjoint partitions that cover all of them.
    await waitFor(() => {
      const pa = a.ownedPartitions();
      const pb = b.ownedPartitions();
      return pa.length > 0 &&
        pb.length > 0 &&
        new Set([...pa, ...pb]).size === PARTITIONS &&
        pa.every((p) => !pb.includes(p))
        ? true
        : undefined;
    }, 'the partitions to be shared by both replicas');

    const ip = '10.9.9.9';
    const first = [event(ip), event(ip), event(ip)];
    for (const e of first) await publish(e);
    // Noise in other groups, spread over both replicas' partitions.
    for (let i = 0; i < 6; i++) await publish(event(`10.1.1.${i}`));
    await waitFor(drained, 'three failures counted');
    expect(await correlationAlerts()).toEqual([]);

    // Stop the replica that owns the group's partition, mid-window.
    const key = a.engine.routeKeys(first[0]!, [BASE_ID])[0]!;
    const p = partitionOf(key, PARTITIONS);
    const [ownerName, other] = a.ownedPartitions().includes(p) ? ['replica-a', b] : ['replica-b', a];
    await apps.get(ownerName)!.close();
    apps.delete(ownerName);
    await waitFor(
      () => (other.ownedPartitions().length === PARTITIONS ? true : undefined),
      'the survivor to take every partition',
    );

    const last = event(ip);
    await publish(last);
    const alerts = await waitFor(async () => {
      const got = await correlationAlerts();
      return got.length > 0 && (await drained()) ? got : undefined;
    }, 'the correlation alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.entity).toBe(`source.ip:${ip}`);
    expect(alerts[0]!.event_ids).toEqual([...first, last].map((e) => e.event.id));
  }, 120_000);
});
