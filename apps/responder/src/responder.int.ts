import { type INestApplicationContext } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { openBus } from '@citysoc/bus';
import { loadConfig } from '@citysoc/config';
import { DrillRunRegistry, markDrillEvent } from '@citysoc/drills';
import { type Alert } from '@citysoc/ecs';
import { NotifyQueue, redisConnection } from '@citysoc/queues';
import { openControlStore, SqliteIncidentStore } from '@citysoc/store';
import { cleanupStreams, drillRunRecord, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';
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
    const incidents = new SqliteIncidentStore(control.db);
    try {
      for (const a of [alert('a-ignored', 'source.ip:10.0.0.1'), alert('a-claimed', 'source.ip:10.0.0.2')]) {
        await bus.publisher.publish({
          subject: bus.names.alertsSubject('high'),
          data: Buffer.from(JSON.stringify(a)),
          msgId: a.id,
        });
      }
      const [ignored, claimed] = await waitFor(async () => {
        const items = (await incidents.list({})).items;
        const i = items.find((x) => x.entity === 'source.ip:10.0.0.1');
        const c = items.find((x) => x.entity === 'source.ip:10.0.0.2');
        return i?.queued && c?.queued ? [i, c] : undefined;
      }, 'both incidents queued');
      expect(ignored.sla.acknowledge_due).not.toBeNull();
      await incidents.claim(claimed.id, 'alice');

      const breached = await waitFor(
        async () => {
          const inc = await incidents.get(ignored.id);
          return inc && inc.sla.breaches.length === 2 ? inc : undefined;
        },
        'both deadlines of the ignored incident missed',
        20_000,
      );
      expect(breached.sla.breaches.map((b) => b.kind)).toEqual(['acknowledge', 'resolve']);
      expect(
        (await incidents.notes(ignored.id)).filter((n) => n.note.startsWith('SLA breached')),
      ).toHaveLength(2);

      const q = new Queue('incidents', {
        connection: { host: '127.0.0.1', port: 6379 },
        prefix: env.CITYSOC_QUEUE_PREFIX,
      });
      expect((await q.getJob(ignored.id))?.priority).toBe(1);
      await q.close();

      // The claimed incident's claim deadline passed long ago, but it was met; only resolution is late.
      const other = (await incidents.get(claimed.id))!;
      await waitFor(
        async () => (await incidents.get(claimed.id))!.sla.breaches.length === 1,
        'the claimed incident late on resolution',
        20_000,
      );
      expect((await incidents.get(claimed.id))!.sla.breaches.map((b) => b.kind)).toEqual(['resolve']);
      expect(other.status).toBe('acknowledged');
    } finally {
      control.close();
      await bus.close();
    }
  }, 60_000);
});

/**
 * Drill incidents' SLA notifications (issue 9): recorded as dry runs unless the run opted in; real and
 * opted-in ones reach the webhook. Real Redis, NATS (the drill-runs bucket) and a local HTTP receiver.
 */
describe('SLA notifications of drill incidents', () => {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-responder-drill-'));
  const hooks: string[] = [];
  let server: Server;
  let app: INestApplicationContext;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooks.push(
          (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { incident: { title: string } }).incident
            .title,
        );
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    env = {
      CITYSOC_STREAM_PREFIX: prefix,
      CITYSOC_QUEUE_PREFIX: `citysoc-${prefix}`,
      CITYSOC_DATA_DIR: dir,
      CITYSOC_RESPONDER_METRICS_PORT: '-1',
      CITYSOC_SLA_POLICY: 'high=0.02/600',
      CITYSOC_NOTIFY_WEBHOOK_URLS: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      CITYSOC_NOTIFY_WEBHOOK_SECRET: 'test-webhook-secret-0123456789',
    };
    // Two registered runs: one keeps the default (dry run), one opted in to real delivery.
    const bus = await openBus(testBusSettings(prefix), 'test-drill-runs');
    const registry = await DrillRunRegistry.open(bus);
    for (const [runId, notify, port] of [
      ['d-NOTIFYDRY', 'dry-run', 41501],
      ['d-NOTIFYREAL', 'deliver', 41502],
    ] as const)
      await registry.register(
        drillRunRecord({
          runId,
          scenario: 'vms-credential-stuffing',
          syslog: [{ transport: 'udp', address: '127.0.0.1', port }],
          notify,
        }),
      );
    await bus.close();
    app = await NestFactory.createApplicationContext(
      ResponderModule.register(loadConfig(responderSchema, env)),
      { logger: false },
    );
    await app.init();
  }, 30_000);
  afterAll(async () => {
    await app.close();
    for (const name of ['incidents', 'sla', 'notify']) {
      const q = new Queue(name, {
        connection: { host: '127.0.0.1', port: 6379 },
        prefix: env.CITYSOC_QUEUE_PREFIX,
      });
      await q.obliterate({ force: true });
      await q.close();
    }
    await new Promise((r) => server.close(r));
    await cleanupStreams(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  const alert = (id: string, entity: string, run?: string): Alert => {
    const t = new Date().toISOString();
    const event = { '@timestamp': t, event: { id: `e-${id}`, created: t } };
    return {
      id,
      '@timestamp': t,
      created_at: t,
      rule: { id: `r-${id}`, title: id, level: 'high', version: 'v1' },
      entity,
      event_ids: [event.event.id],
      event: run ? markDrillEvent(event, run) : event,
    };
  };

  it('a dry-run drill breach is recorded, not sent; an opted-in drill and a real incident are sent', async () => {
    const bus = await openBus(testBusSettings(prefix), 'test');
    const redis = redisConnection(process.env.CITYSOC_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const reader = new NotifyQueue(env.CITYSOC_QUEUE_PREFIX!, redis, {
      webhookUrls: [],
      webhookSecret: '',
      smtpUrl: '',
      emailFrom: '',
      leadEmails: [],
      attempts: 1,
      backoffMs: 1,
      timeoutMs: 1,
    });
    try {
      for (const a of [
        alert('drill-dry', 'source.ip:10.9.0.1', 'd-NOTIFYDRY'),
        alert('drill-deliver', 'source.ip:10.9.0.2', 'd-NOTIFYREAL'),
        alert('drill-unregistered', 'source.ip:10.9.0.3', 'd-NOTIFYNONE'),
        alert('real', 'source.ip:10.9.0.4'),
      ])
        await bus.publisher.publish({
          subject: bus.names.alertsSubject('high'),
          data: Buffer.from(JSON.stringify(a)),
          msgId: a.id,
        });
      const dry = await waitFor(async () => {
        const d = await reader.dryRuns();
        return d.total >= 2 && hooks.length >= 2 ? d : undefined;
      }, 'two dry runs and two webhooks');
      // Let any stray delivery arrive before judging.
      await new Promise((r) => setTimeout(r, 1500));
      expect(hooks.sort()).toEqual(['drill-deliver — 10.9.0.2', 'real — 10.9.0.4']);
      expect(dry.items.map((d) => d.reason).sort()).toEqual([
        'drill d-NOTIFYDRY (dry-run)',
        'drill d-NOTIFYNONE (dry-run)',
      ]);
      expect(dry.items.every((d) => d.channel === 'webhook' && d.target.endsWith('/hook'))).toBe(true);
    } finally {
      await reader.close();
      redis.disconnect();
      await bus.close();
    }
  }, 60_000);
});
