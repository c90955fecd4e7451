import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { loadConfig } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { cleanupStreams, readStream, uniquePrefix, waitFor } from '@citysoc/testing';
import { detectorSchema } from './config';
import { DetectorModule } from './detector.module';

const BASE = `title: SSH login failure
name: ssh_login_failure
id: 6f1d2a3c-0000-4000-8000-000000000001
status: stable
logsource:
  product: citysoc
detection:
  sel:
    message|contains: Failed password
  condition: sel
level: low
`;
const CORRELATION = `title: SSH password guessing from one address
id: 6f1d2a3c-0000-4000-8000-000000000002
status: stable
correlation:
  type: event_count
  rules:
    - ssh_login_failure
  group-by:
    - source.ip
  timespan: 10m
  condition:
    gte: 3
level: high
`;

/** A correlation window that is half full when the detector stops must still fire after it restarts. */
describe('when the detector restarts in the middle of a correlation window', () => {
  const prefix = uniquePrefix();
  const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-rules-'));
  writeFileSync(path.join(rulesDir, 'base.yml'), BASE);
  writeFileSync(path.join(rulesDir, 'correlation.yml'), CORRELATION);
  const config = loadConfig(detectorSchema, {
    CITYSOC_STREAM_PREFIX: prefix,
    CITYSOC_BUILTIN_RULES: rulesDir,
    CITYSOC_DETECTOR_METRICS_PORT: '-1',
    ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
  });
  const start = async () => {
    const app = await NestFactory.createApplicationContext(DetectorModule.register(config), {
      logger: false,
    });
    await app.init();
    return app;
  };
  let app: INestApplicationContext | undefined;

  afterAll(async () => {
    await app?.close();
    await cleanupStreams(prefix);
    rmSync(rulesDir, { recursive: true, force: true });
  });

  it('fires once the third failure arrives after the restart, with the alert of the correlation only', async () => {
    const nc = await connect({ servers: config.natsUrl });
    const js = nc.jetstream();
    const base = Date.parse('2026-11-27T03:00:00Z');
    const publish = (n: number) => {
      const e: EcsEvent = {
        '@timestamp': new Date(base + n * 1000).toISOString(),
        message: `Failed password for root from 10.9.9.9 port ${4000 + n} ssh2`,
        event: { id: `ev-${n}`, created: new Date().toISOString(), module: 'syslog' },
        source: { ip: '10.9.9.9' },
      };
      return js.publish(`${prefix}events.syslog.tcp`, Buffer.from(JSON.stringify(e)), { msgID: e.event.id });
    };
    const drained = async () => {
      const info = await (await nc.jetstreamManager()).consumers.info(`${prefix}EVENTS`, `${prefix}detector`);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    };
    try {
      app = await start();
      await publish(1);
      await publish(2);
      await waitFor(drained, 'the first two events acked');
      await app.close();
      app = undefined;

      app = await start();
      await publish(3);
      await waitFor(drained, 'the third event acked');
      const alerts = await waitFor(async () => {
        const msgs = await readStream(`${prefix}ALERTS`);
        return msgs.length > 0
          ? msgs.map((m) => JSON.parse(Buffer.from(m.data).toString()) as Alert)
          : undefined;
      }, 'a correlation alert');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.rule.id).toBe('6f1d2a3c-0000-4000-8000-000000000002');
      expect(alerts[0]!.entity).toBe('source.ip:10.9.9.9');
      expect(alerts[0]!.event_ids).toEqual(['ev-1', 'ev-2', 'ev-3']);
    } finally {
      await nc.close();
    }
  }, 60_000);
});
