import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { openBus } from '@citysoc/bus';
import { loadConfig } from '@citysoc/config';
import { type Alert } from '@citysoc/ecs';
import { openControlStore } from '@citysoc/store';
import { cleanupStreams, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';
import { responderSchema } from './config';
import { ResponderModule } from './responder.module';

/** SLA timers against real Redis: a missed claim escalates the incident; a claimed one is left alone. */
describe('when an incident is not claimed in time', () => {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-responder-'));
  const env = {
    CITYSOC_STREAM_PREFIX: prefix,
    CITYSOC_QUEUE_PREFIX: `citysoc-${prefix}`,
    CITYSOC_DATA_DIR: dir,
    CITYSOC_RESPONDER_METRICS_PORT: '-1',
    // 0.02 min ≈ 1.2 s to claim, 0.06 min ≈ 3.6 s to resolve: a test-sized policy.
    CITYSOC_SLA_POLICY: 'high=0.02/0.06',
  };
  let app: INestApplicationContext;

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(
      ResponderModule.register(loadConfig(responderSchema, env)),
      { logger: false },
    );
    await app.init();
  }, 30_000);
  afterAll(async () => {
    await app.close();
    const q = new Queue('incidents', {
      connection: { host: '127.0.0.1', port: 6379 },
      prefix: env.CITYSOC_QUEUE_PREFIX,
    });
    await q.obliterate({ force: true });
    await q.close();
    await cleanupStreams(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  const alert = (id: string, entity: string): Alert => ({
    id,
    '@timestamp': new Date().toISOString(),
    created_at: new Date().toISOString(),
    rule: { id: 'r-sla', title: 'SLA test', level: 'high', version: 'v1' },
    entity,
    event_ids: [`e-${id}`],
    event: {
      '@timestamp': new Date().toISOString(),
      event: { id: `e-${id}`, created: new Date().toISOString() },
    },
  });

  it('records the breach once, escalates the queued job, and leaves a claimed incident alone', async () => {
    const bus = await openBus(testBusSettings(prefix), 'test');
    const control = openControlStore(dir);
    try {
      for (const a of [alert('a-ignored', 'source.ip:10.0.0.1'), alert('a-claimed', 'source.ip:10.0.0.2')]) {
        await bus.publisher.publish({
          subject: bus.names.alertsSubject('high'),
          data: Buffer.from(JSON.stringify(a)),
          msgId: a.id,
        });
      }
      const [ignored, claimed] = await waitFor(() => {
        const items = control.incidents.list({}).items;
        const i = items.find((x) => x.entity === 'source.ip:10.0.0.1');
        const c = items.find((x) => x.entity === 'source.ip:10.0.0.2');
        return i?.queued && c?.queued ? [i, c] : undefined;
      }, 'both incidents queued');
      expect(ignored.sla.acknowledge_due).not.toBeNull();
      control.incidents.claim(claimed.id, 'alice');

      const breached = await waitFor(
        () => {
          const inc = control.incidents.get(ignored.id);
          return inc && inc.sla.breaches.length === 2 ? inc : undefined;
        },
        'both deadlines of the ignored incident missed',
        20_000,
      );
      expect(breached.sla.breaches.map((b) => b.kind)).toEqual(['acknowledge', 'resolve']);
      expect(
        control.incidents.notes(ignored.id).filter((n) => n.note.startsWith('SLA breached')),
      ).toHaveLength(2);

      const q = new Queue('incidents', {
        connection: { host: '127.0.0.1', port: 6379 },
        prefix: env.CITYSOC_QUEUE_PREFIX,
      });
      expect((await q.getJob(ignored.id))?.priority).toBe(1);
      await q.close();

      // The claimed incident's claim deadline passed long ago, but it was met; only resolution is late.
      const other = control.incidents.get(claimed.id)!;
      await waitFor(
        () => control.incidents.get(claimed.id)!.sla.breaches.length === 1,
        'the claimed incident late on resolution',
        20_000,
      );
      expect(control.incidents.get(claimed.id)!.sla.breaches.map((b) => b.kind)).toEqual(['resolve']);
      expect(other.status).toBe('acknowledged');
    } finally {
      control.close();
      await bus.close();
    }
  }, 60_000);
});
