import { type INestApplicationContext } from '@nestjs/common';
import { connect, type NatsConnection } from 'nats';
import { KvBlobStore } from '@citysoc/bus';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { readStream, sshGuessingRules, waitFor } from '@citysoc/testing';
import { DetectorTestbed } from './testbed.test';

const RULES = sshGuessingRules('6f1d2a3c', 3);

/**
 * Failed SSH logins from `ip` published to a testbed's EVENTS (event n at `base` + n seconds, id
 * `<idPrefix>-n`), whether the detector has acked everything, and the alerts it stored.
 */
function sshFailures(nc: NatsConnection, prefix: string, ip: string, idPrefix: string, base: number) {
  const js = nc.jetstream();
  return {
    publish(n: number) {
      const e: EcsEvent = {
        '@timestamp': new Date(base + n * 1000).toISOString(),
        message: `Failed password for root from ${ip} port ${4000 + n} ssh2`,
        event: { id: `${idPrefix}-${n}`, created: new Date().toISOString(), module: 'syslog' },
        source: { ip },
      };
      return js.publish(`${prefix}events.syslog.tcp`, Buffer.from(JSON.stringify(e)), { msgID: e.event.id });
    },
    async drained() {
      const info = await (await nc.jetstreamManager()).consumers.info(`${prefix}EVENTS`, `${prefix}detector`);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    /** Runs a detector through the first two failures (half of a 3-failure window) and stops it. */
    async firstTwoThenStop(bed: DetectorTestbed): Promise<void> {
      const app = await bed.start();
      try {
        await this.publish(1);
        await this.publish(2);
        await waitFor(() => this.drained(), 'the first two events acked');
      } finally {
        await app.close();
      }
    },
    alerts: () =>
      waitFor(async () => {
        const msgs = await readStream(`${prefix}ALERTS`);
        return msgs.length > 0
          ? msgs.map((m) => JSON.parse(Buffer.from(m.data).toString()) as Alert)
          : undefined;
      }, 'a correlation alert'),
  };
}

/** A correlation window that is half full when the detector stops must still fire after it restarts. */
describe('when the detector restarts in the middle of a correlation window', () => {
  const bed = new DetectorTestbed('rules', RULES);
  const { prefix } = bed;
  const config = bed.config();
  let app: INestApplicationContext | undefined;

  afterAll(async () => {
    await app?.close();
    await bed.cleanup();
  });

  it('fires once the third failure arrives after the restart, with the alert of the correlation only', async () => {
    const nc = await connect({ servers: config.natsUrl });
    const ssh = sshFailures(nc, prefix, '10.9.9.9', 'ev', Date.parse('2026-11-27T03:00:00Z'));
    const { publish, drained, alerts: stored } = ssh;
    try {
      await ssh.firstTwoThenStop(bed);

      app = await bed.start();
      await publish(3);
      await waitFor(drained, 'the third event acked');
      const alerts = await stored();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.rule.id).toBe('6f1d2a3c-0000-4000-8000-000000000002');
      expect(alerts[0]!.entity).toBe('source.ip:10.9.9.9');
      expect(alerts[0]!.event_ids).toEqual(['ev-1', 'ev-2', 'ev-3']);
    } finally {
      await nc.close();
    }
  }, 60_000);
});

/**
 * A restarted detector that finds no saved state although its durable acked events before reads it again
 * for CITYSOC_DETECTOR_STATE_WAIT_MS (a KV leader catching up after a NATS restart): a state that shows up
 * within that wait is restored, so the window in progress goes on instead of starting empty.
 */
describe('when the saved correlation state is missing for a moment at restart', () => {
  const bed = new DetectorTestbed('late-state', sshGuessingRules('7a2e3b4d', 3));
  const { prefix } = bed;
  const config = bed.config();
  let app: INestApplicationContext | undefined;

  afterAll(async () => {
    await app?.close();
    await bed.cleanup();
  });

  it('reads it again and restores it when it appears within the wait', async () => {
    const nc = await connect({ servers: config.natsUrl });
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    const ssh = sshFailures(nc, prefix, '10.7.7.7', 'late', Date.parse('2026-11-27T04:00:00Z'));
    const { publish, drained, alerts: stored } = ssh;
    try {
      await ssh.firstTwoThenStop(bed);

      // The state goes missing (the manifest key purged), then comes back while the detector starts.
      const raw = await js.views.kv(`${prefix}detector-correlation`);
      const blobs = new KvBlobStore(raw, jsm);
      const saved = (await blobs.read('state'))!;
      expect(saved.data.length).toBeGreaterThan(0);
      await raw.purge('state');
      expect(await blobs.read('state')).toBeUndefined();
      const starting = bed.start({ CITYSOC_DETECTOR_STATE_WAIT_MS: '20000' });
      await new Promise((r) => setTimeout(r, 1500));
      await blobs.write('state', saved.data);
      app = await starting;

      await publish(3);
      await waitFor(drained, 'the third event acked');
      const alerts = await stored();
      expect(alerts.map((a) => a.event_ids)).toEqual([['late-1', 'late-2', 'late-3']]);
    } finally {
      await nc.close();
    }
  }, 90_000);
});
