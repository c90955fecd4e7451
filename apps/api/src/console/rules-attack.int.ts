import { type INestApplication } from '@nestjs/common';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import request from 'supertest';
import { busNames, RULE_STATS_BUCKET, type RuleStatsSnapshot } from '@citysoc/bus';
import { loadConfig } from '@citysoc/config';
import { DRILL_RUNS_BUCKET, type DrillRunRecord } from '@citysoc/drills';
import { cleanupStreams, drillRunRecord, uniquePrefix } from '@citysoc/testing';
import { bootstrapAdmin, createApiApp } from '../app';
import { apiSchema } from '../config';

const SSHD = readRuleId();

function readRuleId(): string {
  // The built-in sshd brute-force rule (tagged attack.t1110…), read where the API reads it.
  const text = readFileSync(path.join(__dirname, '../../../../rules/linux/sshd_bruteforce.yml'), 'utf8');
  return /^id:\s*(\S+)/m.exec(text)![1]!;
}

/** Rule cost from the detectors' KV snapshots and the drill-validated ATT&CK layer, through real NATS. */
describe('rules page cost and ATT&CK drill layer', () => {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-rules-attack-'));
  const adminToken = `csk_admin_${'r'.repeat(30)}`;
  let app: INestApplication;
  let nc: NatsConnection;
  let analyst: string;

  beforeAll(async () => {
    const config = loadConfig(apiSchema, {
      CITYSOC_DATA_DIR: dir,
      CITYSOC_STREAM_PREFIX: prefix,
      CITYSOC_QUEUE_PREFIX: `citysoc-${prefix}`,
      ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
    });
    app = await createApiApp(config);
    await app.init();
    bootstrapAdmin(app, adminToken);
    nc = await connect({ servers: config.natsUrl });
    analyst = (
      (
        await request(app.getHttpServer())
          .post('/api/v1/tokens')
          .set('authorization', `Bearer ${adminToken}`)
          .send({ name: 'an.analyst', role: 'analyst' })
          .expect(201)
      ).body as { token: string }
    ).token;
  }, 30_000);

  afterAll(async () => {
    await nc?.close();
    await app?.close();
    await cleanupStreams(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (route: string) =>
    request(app.getHttpServer()).get(route).set('authorization', `Bearer ${analyst}`).expect(200);

  it('sums fresh detector snapshots per rule and leaves stale replicas out', async () => {
    const kv = await nc.jetstream().views.kv(busNames(prefix).durable(RULE_STATS_BUCKET), { history: 1 });
    const snap = (instance: string, ageMs: number, evaluations: number): RuleStatsSnapshot => ({
      instance,
      since: new Date(Date.now() - 3600_000).toISOString(),
      at: new Date(Date.now() - ageMs).toISOString(),
      interval_ms: 15_000,
      events: 1000,
      rules: [{ id: SSHD, evaluations, matches: 3, seconds: 0.02 }],
    });
    await kv.put('d1', Buffer.from(JSON.stringify(snap('d1', 0, 400))));
    await kv.put('d2', Buffer.from(JSON.stringify(snap('d2', 1000, 100))));
    await kv.put('gone', Buffer.from(JSON.stringify(snap('gone', 10 * 60_000, 99_999))));
    const r = await get('/api/v1/console/rule-catalog');
    expect(r.body.cost).toMatchObject({ instances: 2, events: 2000 });
    const row = (r.body.items as Array<{ id: string; cost: unknown }>).find((i) => i.id === SSHD);
    expect(row?.cost).toEqual({ evaluations: 500, matches: 6, seconds: 0.04 });
    const other = (r.body.items as Array<{ id: string; cost: unknown }>).find((i) => i.id !== SSHD);
    expect(other?.cost).toBeNull();
  });

  it('marks techniques validated by the latest finished run of each scenario', async () => {
    const kv = await nc.jetstream().views.kv(busNames(prefix).durable(DRILL_RUNS_BUCKET), { history: 1 });
    const run = (
      runId: string,
      scenario: string,
      updatedAt: string,
      techniques: DrillRunRecord['techniques'],
    ) =>
      drillRunRecord({
        runId,
        scenario,
        scenarioSha256: 'x'.repeat(64),
        window: { start: updatedAt, end: updatedAt },
        status: 'finished',
        registeredAt: updatedAt,
        registeredBy: 'lead',
        updatedAt,
        techniques,
      });
    // brute-force passed, then failed: no longer validated. beacon passed last: validated.
    await kv.put(
      'r1',
      Buffer.from(JSON.stringify(run('r1', 'brute', '2026-11-27T01:00:00Z', { T1110: 'pass' }))),
    );
    await kv.put(
      'r2',
      Buffer.from(JSON.stringify(run('r2', 'brute', '2026-11-27T02:00:00Z', { T1110: 'fail' }))),
    );
    await kv.put(
      'r3',
      Buffer.from(JSON.stringify(run('r3', 'beacon', '2026-11-27T01:00:00Z', { T1071: 'fail' }))),
    );
    await kv.put(
      'r4',
      Buffer.from(JSON.stringify(run('r4', 'beacon', '2026-11-27T03:00:00Z', { T1071: 'pass' }))),
    );
    const g = await get('/api/v1/console/attack/grid');
    expect(g.body.drills_available).toBe(true);
    const cells = [
      ...(g.body.tactics as Array<{ techniques: Array<{ id: string; validated: number }> }>).flatMap(
        (t) => t.techniques,
      ),
      ...(g.body.unplaced as Array<{ id: string; validated: number }>),
    ];
    const byId = (id: string) => cells.filter((c) => c.id.toUpperCase() === id);
    expect(byId('T1110').length).toBeGreaterThan(0);
    expect(byId('T1110').every((c) => c.validated === 0)).toBe(true);
    expect(byId('T1071')).toEqual([
      expect.objectContaining({
        validated: 1,
        validated_by: { run: 'r4', scenario: 'beacon', at: '2026-11-27T03:00:00Z' },
      }),
    ]);
  });
});
