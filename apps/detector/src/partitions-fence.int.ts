import { type INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from 'nats';
import { KvBlobStore } from '@citysoc/bus';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { readStream, waitFor, sshGuessingRules } from '@citysoc/testing';
import { DetectorTestbed } from './testbed.test';
import { DetectorService } from './detector.service';
import { type CountedJson } from './counted';

const CORR_ID = '4c1d2a3c-0000-4000-8000-000000000002';
const RULES = sshGuessingRules('4c1d2a3c', 4);

/**
 * The partition state's manifest revision is the fence (chunked format): once another owner has written
 * the partition's state, the replica holding the older revision cannot write over it, drops the partition
 * and, on taking it again, resumes from the other owner's state.
 */
describe('the compare-and-set fence on a chunked partition state', () => {
  const bed = new DetectorTestbed('fence', RULES, {
    CITYSOC_DETECTOR_BATCH: '1',
    CITYSOC_DETECTOR_CORRELATION_PARTITIONS: '1',
    CITYSOC_DETECTOR_LEASE_MS: '1500',
    CITYSOC_DETECTOR_INSTANCE: 'stale-owner',
  });
  const { prefix } = bed;
  const config = bed.config();
  let app: INestApplicationContext | undefined;
  let nc: NatsConnection | undefined;

  afterAll(async () => {
    await app?.close();
    await nc?.close();
    await bed.cleanup();
  });

  it("refuses the stale owner's write; the partition resumes from the newer state", async () => {
    nc = await connect({ servers: config.natsUrl });
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    let n = 0;
    const publish = async (ip: string): Promise<string> => {
      n++;
      const e: EcsEvent = {
        '@timestamp': new Date(Date.parse('2026-11-27T03:00:00Z') + n * 1000).toISOString(),
        message: `Failed password for root from ${ip} port ${4000 + n} ssh2`,
        event: { id: `fev-${n}`, created: new Date().toISOString(), module: 'syslog' },
        source: { ip },
      };
      await js.publish(`${prefix}events.syslog.tcp`, Buffer.from(JSON.stringify(e)), { msgID: e.event.id });
      return e.event.id;
    };
    const drained = async () => {
      for (const [stream, durable] of [
        [`${prefix}EVENTS`, `${prefix}detector`],
        [`${prefix}CORRELATE`, `${prefix}detector-correlate-0`],
      ]) {
        const info = await jsm.consumers.info(stream!, durable!).catch(() => undefined);
        if (!info || info.num_pending > 0 || info.num_ack_pending > 0) return false;
      }
      return true;
    };
    const states = new KvBlobStore(await js.views.kv(`${prefix}detector-partitions`), jsm);

    app = await bed.start();
    const detector = app.get(DetectorService);
    await waitFor(() => (detector.ownedPartitions().length === 1 ? true : undefined), 'partition 0 taken');

    // A window elsewhere, then two failures from the address under test.
    await publish('10.0.0.99');
    await waitFor(drained, 'the first event counted');
    const early = await states.read('p0');
    await publish('10.6.6.6');
    await publish('10.6.6.6');
    await waitFor(drained, 'two failures counted');

    // Another owner writes the partition: the windows as they were before those two failures, the same
    // watermark. The running replica still holds the previous revision.
    const now = (await states.read('p0'))!;
    const { correlatedUpTo, correlatedRanges } = JSON.parse(now.data.toString()) as CountedJson;
    const { state } = JSON.parse(early!.data.toString()) as { state: unknown };
    const theirs = await states.write(
      'p0',
      Buffer.from(JSON.stringify({ correlatedUpTo, correlatedRanges, state })),
      now.revision,
    );

    // Refused, the stale owner's third failure is not saved: its windows would fire on the fourth.
    const resumed = [await publish('10.6.6.6'), await publish('10.6.6.6')];
    await waitFor(
      async () => (await drained()) && detector.ownedPartitions().length === 1,
      'partition retaken',
      60_000,
    );
    const after = (await states.read('p0'))!;
    expect(after.revision).toBeGreaterThan(theirs);
    resumed.push(await publish('10.6.6.6'), await publish('10.6.6.6'));
    const alerts = await waitFor(
      async () => {
        const got = (await readStream(`${prefix}ALERTS`))
          .map((m) => JSON.parse(Buffer.from(m.data).toString()) as Alert)
          .filter((a) => a.rule.id === CORR_ID);
        return got.length > 0 && (await drained()) ? got : undefined;
      },
      'the correlation alert',
      60_000,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.event_ids).toEqual(resumed);
  }, 120_000);
});
