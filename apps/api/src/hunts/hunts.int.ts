import { type INestApplication } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { type EcsEvent } from '@citysoc/ecs';
import { type ControlStore, type EventStore } from '@citysoc/store';
import { markDrillEvent } from '@citysoc/drills';
import { cleanupStreams, startTestApi, type TestApi, uniquePrefix } from '@citysoc/testing';
import { type ConfigOf } from '@citysoc/config';
import { type apiSchema } from '../config';
import { sharedRuleSet } from '../rules/rule-sets';
import { API_CONFIG, EVENT_STORE } from '../tokens';

/** POST /api/v1/hunts against a real SQLite file and the shipped rules, with real Redis/NATS. */
describe('POST /api/v1/hunts', () => {
  const adminToken = `csk_admin_${'h'.repeat(30)}`;
  const prefix = uniquePrefix();
  let api: TestApi;
  let app: INestApplication;
  let control: ControlStore;
  let analyst: string;
  let responder: string;
  let auditor: string;
  let lead: string;
  let controller: string;
  let wardAnalyst: string;

  const ev = (id: string, ts: string, message: string, appname = 'sshd'): EcsEvent => ({
    '@timestamp': ts,
    message,
    event: { id, created: ts, module: 'syslog', dataset: 'syslog' },
    log: { syslog: { appname } },
    process: { name: appname },
    source: { ip: '10.0.0.9' },
  });

  beforeAll(async () => {
    api = await startTestApi({
      adminToken,
      name: 'hunts',
      prefix,
      env: {
        CITYSOC_STREAM_PREFIX: prefix,
        ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
      },
    });
    ({ app, control } = api);
    expect(api.bootstrap).toEqual({ preset: true });
    await app
      .get<EventStore>(EVENT_STORE)
      .insertEvents([
        ev('e1', '2026-11-27T01:00:00.000Z', 'Failed password for root from 10.0.0.9 port 4242 ssh2'),
        ev('e2', '2026-11-27T02:00:00.000Z', 'Accepted password for alice from 10.0.0.7 port 4243 ssh2'),
        ev('e3', '2026-11-27T03:00:00.000Z', 'Invalid user admin from 10.0.0.9 port 4244'),
        ev('e4', '2026-11-27T03:30:00.000Z', 'Failed password for bob', 'vsftpd'),
      ]);
    const issue = api.issueToken;
    analyst = await issue('hunt.analyst', 'analyst');
    responder = await issue('hunt.responder', 'responder');
    auditor = await issue('hunt.auditor', 'auditor');
    lead = await issue('hunt.lead', 'lead');
    controller = await issue('hunt.controller', 'controller');
    // A unit-scoped analyst: users carry a unit, tokens do not.
    await request(app.getHttpServer())
      .post('/api/v1/users')
      .set('authorization', `Bearer ${adminToken}`)
      .send({
        username: 'ward.analyst',
        password: 'ward analyst secret pw',
        role: 'analyst',
        unit: 'hanoi/ba-dinh',
      })
      .expect(201);
    wardAnalyst = (
      (
        await request(app.getHttpServer())
          .post('/api/v1/auth/login')
          .send({ username: 'ward.analyst', password: 'ward analyst secret pw' })
          .expect(200)
      ).body as { token: string }
    ).token;
  }, 30_000);

  afterAll(async () => {
    await api.close();
    await cleanupStreams(prefix);
  });

  const hunt = (token: string, body: object) =>
    request(app.getHttpServer()).post('/api/v1/hunts').set('authorization', `Bearer ${token}`).send(body);

  const YAML = `title: failed ssh
id: 0b7b7a4e-1d0c-4c61-9a53-3b1f0c6f2a11
logsource: { product: linux, service: sshd }
level: medium
detection:
  sel: { message|contains: ['Failed password', 'Invalid user'] }
  condition: sel
`;

  it('runs a rule given as YAML over the stored events, with the detector logsource routing', async () => {
    const res = await hunt(analyst, { rule: YAML }).expect(200);
    const body = res.body as {
      engine: string;
      matches: Array<{ event: EcsEvent }>;
      scanned: number;
      truncated: boolean;
    };
    expect(body.engine).toBe('matcher');
    // e4 says "Failed password" too, but comes from vsftpd: the sshd logsource leaves it out.
    expect(body.matches.map((m) => m.event.event.id)).toEqual(['e3', 'e1']);
    expect(body).toMatchObject({ scanned: 4, truncated: false });
  });

  it('runs a shipped rule by id, within a time range', async () => {
    const res = await hunt(analyst, {
      rule_id: 'be3265a3-ad66-4709-96de-0cb083bafa69',
      from: '2026-11-27T02:30:00Z',
    }).expect(200);
    expect(
      (res.body as { matches: Array<{ event: EcsEvent }> }).matches.map((m) => m.event.event.id),
    ).toEqual(['e3']);
  });

  it('parses the rule folders once for all hunts and the console catalog (the shared rule-set cache)', async () => {
    const config = app.get<ConfigOf<typeof apiSchema>>(API_CONFIG);
    const rules = sharedRuleSet([config.builtinRules, ...config.rulePaths]);
    const before = rules.stats.loads;
    for (let i = 0; i < 3; i++)
      await hunt(analyst, { rule_id: 'be3265a3-ad66-4709-96de-0cb083bafa69' }).expect(200);
    await request(app.getHttpServer())
      .get('/api/v1/console/rule-catalog')
      .set('authorization', `Bearer ${analyst}`)
      .expect(200);
    // Loaded by the first reader (here or in an earlier case), never again: the shipped rules do not change.
    expect(rules.stats.loads).toBe(Math.max(before, 1));
  });

  it('is for analysts and leads: responders and auditors are refused', async () => {
    await hunt(responder, { rule: YAML }).expect(403);
    await hunt(auditor, { rule: YAML }).expect(403);
    await request(app.getHttpServer()).post('/api/v1/hunts').send({ rule: YAML }).expect(401);
  });

  it('validates the request', async () => {
    await hunt(analyst, {}).expect(400);
    await hunt(analyst, { rule: YAML, rule_id: 'x' }).expect(400);
    await hunt(analyst, { rule: YAML, from: 'yesterday' }).expect(400);
    await hunt(analyst, { rule: YAML, from: '2026-11-28T00:00:00Z', to: '2026-11-27T00:00:00Z' }).expect(400);
    await hunt(analyst, { rule: YAML, max_matches: 0 }).expect(400);
    await hunt(analyst, { rule: YAML, extra: 1 }).expect(400);
    const bad = await hunt(analyst, { rule: 'title: x\ndetection: [' }).expect(400);
    expect(JSON.stringify(bad.body)).toMatch(/does not load/);
    await hunt(analyst, { rule_id: 'no-such-rule' }).expect(404);
  });

  const ids = (res: request.Response) =>
    (res.body as { matches: Array<{ event: EcsEvent }> }).matches.map((m) => m.event.event.id);

  it('applies the Sigma filter documents that target the rule, as the detector does', async () => {
    const filter = `title: not from the jump host
id: 2c1d6f0a-7a55-4d0e-9d61-1b7e1e0f9a01
logsource: { product: linux, service: sshd }
filter:
  rules: [0b7b7a4e-1d0c-4c61-9a53-3b1f0c6f2a11]
  selection: { message|contains: 'Invalid user admin' }
  condition: selection
`;
    const res = await hunt(analyst, { rule: `${YAML}---\n${filter}` }).expect(200);
    expect(ids(res)).toEqual(['e1']);
    expect((res.body as { filters: unknown }).filters).toEqual([
      { id: '2c1d6f0a-7a55-4d0e-9d61-1b7e1e0f9a01', title: 'not from the jump host' },
    ]);
    const raw = await hunt(analyst, { rule: `${YAML}---\n${filter}`, apply_filters: false }).expect(200);
    expect(ids(raw)).toEqual(['e3', 'e1']);
    // A filter for another rule leaves this one alone.
    const other = filter.replace('0b7b7a4e-1d0c-4c61-9a53-3b1f0c6f2a11', 'some-other-rule');
    expect(ids(await hunt(analyst, { rule: `${YAML}---\n${other}` }).expect(200))).toEqual(['e3', 'e1']);
    await hunt(analyst, { rule: `${filter}` }).expect(400);
  });

  it("hunts only within the caller's unit subtree", async () => {
    const ward = { id: 'ba-dinh', name: 'Ba Đình', path: ['hanoi', 'ba-dinh'], criticality: 'high' as const };
    const other = {
      id: 'dong-da',
      name: 'Đống Đa',
      path: ['hanoi', 'dong-da'],
      criticality: 'high' as const,
    };
    const at = '2026-11-27T04:00:00.000Z';
    await app.get<EventStore>(EVENT_STORE).insertEvents([
      { ...ev('u1', at, 'Failed password for root from 10.0.0.9 port 1 ssh2'), citysoc: { unit: ward } },
      { ...ev('u2', at, 'Failed password for root from 10.0.0.9 port 2 ssh2'), citysoc: { unit: other } },
    ]);
    const range = { from: at, to: '2026-11-27T04:00:01Z' };
    expect(ids(await hunt(analyst, { rule: YAML, ...range }).expect(200)).sort()).toEqual(['u1', 'u2']);
    expect(ids(await hunt(wardAnalyst, { rule: YAML, ...range }).expect(200))).toEqual(['u1']);
    // Without a range the ward analyst still sees nothing outside the ward (e1/e3 have no unit).
    expect(ids(await hunt(wardAnalyst, { rule: YAML }).expect(200))).toEqual(['u1']);
  });

  it("runs a drill expectation's rule, over one registered run's events and window, with a verdict", async () => {
    const file = path.resolve(__dirname, '../../../../drills/fortigate-policy-tamper.yaml');
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    const window = { start: '2026-11-27T06:00:00.000Z', end: '2026-11-27T07:00:00.000Z' };
    const runId = 'd-HUNT0001';
    await request(app.getHttpServer())
      .post('/api/v1/drills/runs')
      .set('authorization', `Bearer ${controller}`)
      .send({
        runId,
        scenario: 'fortigate-policy-tamper',
        scenarioSha256: sha,
        syslog: [{ transport: 'tcp', address: '127.0.0.1', port: 41901 }],
        exporters: [],
        window,
      })
      .expect(201);
    const login = (id: string, ts: string, ip: string): EcsEvent => ({
      '@timestamp': ts,
      message: `Administrator admin logged in successfully from https(${ip})`,
      event: { id, created: ts, module: 'fortigate', dataset: 'syslog', code: '0100032001', action: 'login' },
      observer: { vendor: 'Fortinet', hostname: 'fg-hoankiem-01' },
      source: { ip },
    });
    await app.get<EventStore>(EVENT_STORE).insertEvents([
      markDrillEvent(login('f1', '2026-11-27T06:00:05.000Z', '203.0.113.9'), runId),
      // Same rule, not this run: another run's record, and a real login outside the management networks.
      markDrillEvent(login('f2', '2026-11-27T06:00:06.000Z', '203.0.113.9'), 'd-OTHER001'),
      login('f3', '2026-11-27T06:00:07.000Z', '198.51.100.4'),
      // Inside the management networks: the rule's own "not management" leaves it out.
      markDrillEvent(login('f4', '2026-11-27T06:00:08.000Z', '10.21.0.50'), runId),
      // The run's, but after its window.
      markDrillEvent(login('f5', '2026-11-27T07:00:01.000Z', '203.0.113.9'), runId),
    ]);
    const drill = { scenario: 'fortigate-policy-tamper', expectation: 'external-admin-login' };
    // One run's events are selected by their drill mark: blind analysts and leads may not.
    for (const token of [analyst, lead])
      await hunt(token, { drill: { ...drill, run_id: runId } }).expect(403);
    const run = await hunt(controller, { drill: { ...drill, run_id: runId } }).expect(200);
    expect(ids(run)).toEqual(['f1']);
    expect((run.body as { drill: unknown }).drill).toEqual({
      scenario: 'fortigate-policy-tamper',
      expectation: 'external-admin-login',
      rule: '6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f',
      step: 'login',
      min: 1,
      run_id: runId,
      met: true,
      warnings: [],
    });
    // Without a run: the rule over whatever range is asked, every event, no verdict.
    const all = await hunt(analyst, { drill, from: '2026-11-27T06:00:00Z' }).expect(200);
    expect(ids(all)).toEqual(['f5', 'f3', 'f2', 'f1']);
    expect((all.body as { drill: { met?: boolean } }).drill.met).toBeUndefined();
    // The run's window can be narrowed; an empty result is a verdict too.
    const early = await hunt(controller, { drill: { ...drill, run_id: runId }, to: '2026-11-27T06:00:01Z' });
    expect((early.body as { drill: { met: boolean } }).drill.met).toBe(false);
    await hunt(analyst, { drill: { ...drill, expectation: 'nope' } }).expect(404);
    await hunt(analyst, { drill: { scenario: 'no-such-scenario', expectation: 'x' } }).expect(404);
    await hunt(controller, { drill: { ...drill, run_id: 'd-NOTREG01' } }).expect(404);
    await hunt(controller, {
      drill: { scenario: 'iot-camera-portscan', expectation: 'vertical-scan', run_id: runId },
    }).expect(409);
    await hunt(analyst, { drill, rule: YAML }).expect(400);
    const audit = control.audit.list(50).find((e) => e.target === '/api/v1/hunts' && e.outcome === 'success');
    expect(audit).toBeDefined();
  });

  it('shows storage health to leads, admins and auditors only', async () => {
    const res = await request(app.getHttpServer())
      .get('/api/v1/storage')
      .set('authorization', `Bearer ${auditor}`)
      .expect(200);
    expect(res.body).toMatchObject({ engine: 'sqlite', status: 'ok', alerts: 0 });
    expect((res.body as { bytes: number }).bytes).toBeGreaterThan(0);
    await request(app.getHttpServer())
      .get('/api/v1/storage')
      .set('authorization', `Bearer ${adminToken}`)
      .expect(200);
    await request(app.getHttpServer())
      .get('/api/v1/storage')
      .set('authorization', `Bearer ${analyst}`)
      .expect(403);
  });

  it('audits every hunt, allowed or refused', async () => {
    const entries = control.audit.list(200).filter((e) => e.target === '/api/v1/hunts');
    expect(entries.some((e) => e.actor === 'hunt.analyst' && e.outcome === 'success')).toBe(true);
    expect(entries.some((e) => e.actor === 'hunt.responder' && e.outcome === 'failure')).toBe(true);
  });
});
