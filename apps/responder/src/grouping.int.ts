import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { openBus } from '@citysoc/bus';
import { loadConfig } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { signWebhook } from '@citysoc/queues';
import { openControlStore, SqliteIncidentStore } from '@citysoc/store';
import { cleanupStreams, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';
import { responderSchema } from './config';
import { ResponderModule } from './responder.module';

/**
 * The responder against real NATS and Redis with cross-rule grouping: a syslog alert and a flow alert about
 * one address become one incident; a late alert reopens the resolved incident and puts it back in the
 * queue; a missed deadline notifies the lead's webhook, signed.
 */
describe('the responder with CITYSOC_GROUPING=keys=entity', () => {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-responder-grouping-'));
  const secret = 'grouping-test-secret-0123456789';
  const hooks: Array<{ body: string; ts: string; sig: string }> = [];
  let server: Server;
  let app: INestApplicationContext;
  const queuePrefix = `citysoc-${prefix}`;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooks.push({
          body: Buffer.concat(chunks).toString('utf8'),
          ts: String(req.headers['x-citysoc-timestamp']),
          sig: String(req.headers['x-citysoc-signature']),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const env = {
      CITYSOC_STREAM_PREFIX: prefix,
      CITYSOC_QUEUE_PREFIX: queuePrefix,
      CITYSOC_DATA_DIR: dir,
      CITYSOC_RESPONDER_METRICS_PORT: '-1',
      CITYSOC_GROUPING: 'keys=entity;window=10;reopen=reopen',
      // ≈ 1.2 s to acknowledge a high incident, nothing else.
      CITYSOC_SLA_POLICY: 'high=0.02/-,medium=-/-',
      CITYSOC_NOTIFY_WEBHOOK_URLS: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      CITYSOC_NOTIFY_WEBHOOK_SECRET: secret,
      CITYSOC_NOTIFY_BACKOFF_MS: '100',
    };
    app = await NestFactory.createApplicationContext(
      ResponderModule.register(loadConfig(responderSchema, env)),
      { logger: false },
    );
    await app.init();
  }, 30_000);

  afterAll(async () => {
    await app.close();
    for (const name of ['incidents', 'sla', 'notify']) {
      const q = new Queue(name, { connection: { host: '127.0.0.1', port: 6379 }, prefix: queuePrefix });
      await q.obliterate({ force: true });
      await q.close();
    }
    await cleanupStreams(prefix);
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
  const alert = (
    id: string,
    rule: string,
    level: Alert['rule']['level'],
    ts: string,
    e: Partial<EcsEvent>,
  ): Alert => ({
    id,
    '@timestamp': ts,
    created_at: ts,
    rule: {
      id: rule,
      title: rule,
      level,
      version: 'v1',
      tags: [`attack.t${rule === 'ssh' ? '1110' : '1046'}`],
    },
    entity: 'source.ip:203.0.113.50',
    event_ids: [`e-${id}`],
    event: { '@timestamp': ts, event: { id: `e-${id}`, created: ts }, source: { ip: '203.0.113.50' }, ...e },
  });

  it('groups syslog and flow alerts about one address, reopens on a late alert, and notifies on breach', async () => {
    const bus = await openBus(testBusSettings(prefix), 'test');
    const control = openControlStore(dir);
    const incidents = new SqliteIncidentStore(control.db);
    const publish = async (a: Alert) =>
      bus.publisher.publish({
        subject: bus.names.alertsSubject(a.rule.level),
        data: Buffer.from(JSON.stringify(a)),
        msgId: a.id,
      });
    try {
      await publish(alert('syslog-1', 'ssh', 'medium', at(0), { log: { syslog: { appname: 'sshd' } } }));
      await publish(alert('flow-1', 'portscan', 'high', at(1000), { network: { transport: 'tcp' } }));
      // A replay of the same alert (a second detector instance, a redelivery) changes nothing.
      await publish(alert('flow-1', 'portscan', 'high', at(1000), { network: { transport: 'tcp' } }));
      const inc = await waitFor(async () => {
        const items = (await incidents.list({})).items;
        return items.length === 1 && items[0]!.alert_count === 2 && items[0]!.queued ? items[0] : undefined;
      }, 'one incident with both alerts');
      expect(inc).toMatchObject({
        severity: 'high',
        rule_ids: ['ssh', 'portscan'],
        mitre: { techniques: ['T1046', 'T1110'] },
        entity: 'source.ip:203.0.113.50',
      });
      expect(inc.grouping_reason).toMatch(
        /^Alerts of any rule about source\.ip:203\.0\.113\.50 within 10 min .*across rules/,
      );

      // Nobody acknowledges it: the breach reaches the lead's webhook, signed.
      const hook = await waitFor(async () => hooks[0], 'the SLA breach webhook', 20_000);
      expect(hook.sig).toBe(signWebhook(secret, hook.ts, hook.body));
      expect(JSON.parse(hook.body)).toMatchObject({
        type: 'sla_breach',
        kind: 'acknowledge',
        incident: { id: inc.id },
      });

      // Worked and resolved; then a late alert inside the window reopens it and it is queued again.
      await incidents.claim(inc.id, 'lan');
      await incidents.transition(inc.id, { to: 'in_progress' }, 'lan');
      await incidents.transition(inc.id, { to: 'resolved', reason: 'blocked' }, 'lan');
      const q = new Queue('incidents', {
        connection: { host: '127.0.0.1', port: 6379 },
        prefix: queuePrefix,
      });
      try {
        const job = await q.getJob(inc.id);
        await job?.remove();
        await publish(alert('syslog-late', 'ssh', 'medium', at(2000), {}));
        const reopened = await waitFor(async () => {
          const i = await incidents.get(inc.id);
          return i?.status === 'new' && i.queued ? i : undefined;
        }, 'the incident reopened and queued');
        expect(reopened).toMatchObject({ generation: 1, alert_count: 3, assignee: null });
        expect((await incidents.list({})).items).toHaveLength(1);
        expect(await q.getJob(inc.id).then((j) => j?.getState())).toBe('prioritized');
        // Fresh timers for the new opening: it breaches again and the lead hears again.
        await waitFor(async () => hooks.length >= 2, 'a second breach for the reopened incident', 20_000);
        expect(JSON.parse(hooks[1]!.body)).toMatchObject({ key: `sla_breach:${inc.id}:acknowledge:1` });
      } finally {
        await q.close();
      }
    } finally {
      control.close();
      await bus.close();
    }
  }, 90_000);
});
