import { type INestApplication } from '@nestjs/common';
import { type Alert, type EcsEvent, type UnitAttribution } from '@citysoc/ecs';
import { type IncidentQueue } from '@citysoc/queues';
import { type ControlStore, type EventStore, type Incident, type IncidentStore } from '@citysoc/store';
import { startTestApi, type TestApi } from '@citysoc/testing';
import { EVENT_STORE, INCIDENT_QUEUE } from './tokens';

const BA_DINH: UnitAttribution = {
  id: 'ba-dinh',
  name: 'Ba Đình',
  path: ['hanoi', 'ba-dinh'],
  criticality: 'high',
};
const DONG_DA: UnitAttribution = {
  id: 'dong-da',
  name: 'Đống Đa',
  path: ['hanoi', 'dong-da'],
  criticality: 'critical',
};

function event(id: string, unit: UnitAttribution, ip: string, message: string): EcsEvent {
  const ts = '2026-11-27T03:00:00.000Z';
  return { '@timestamp': ts, message, event: { id, created: ts }, source: { ip }, citysoc: { unit } };
}

function alertOf(id: string, e: EcsEvent, level: Alert['rule']['level']): Alert {
  return {
    id,
    '@timestamp': e['@timestamp'],
    created_at: e['@timestamp'],
    rule: {
      id: `rule-${id}`,
      title: `Rule ${id}`,
      level,
      version: 'v1',
      author: 'citysoc',
      license: 'Apache-2.0',
      tags: ['attack.credential-access', 'attack.t1110'],
    },
    entity: `source.ip:${String(e.source?.ip)}`,
    event_ids: [e.event.id],
    event: e,
  };
}

/**
 * The API's security boundary against real Redis and SQLite: authentication (tokens, sessions, lockout,
 * rate limit), roles, unit scoping (404 across units), validation without side effects, and the audit chain.
 */
// Logins run scrypt (tens of ms each, more on a loaded machine): generous per-test time.
jest.setTimeout(30_000);

describe('API security', () => {
  const adminToken = `csk_admin_${'s'.repeat(30)}`;
  let api: TestApi;
  let app: INestApplication;
  let control: ControlStore;
  let incidents: IncidentStore;
  let queue: IncidentQueue;
  let mine: Incident;
  let theirs: Incident;
  const tokens: Record<string, string> = {};

  const http = () => api.http();
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who] ?? who}` });

  beforeAll(async () => {
    api = await startTestApi({
      adminToken,
      name: 'api-sec',
      env: {
        CITYSOC_LOGIN_MAX_FAILURES: '3',
        CITYSOC_LOGIN_RATE_PER_MINUTE: '20',
        CITYSOC_SESSION_MINUTES: '30',
      },
    });
    ({ app, control, incidents } = api);
    tokens.admin = adminToken;
    queue = app.get<IncidentQueue>(INCIDENT_QUEUE);
    const events = app.get<EventStore>(EVENT_STORE);
    const e1 = event('ev-ba-dinh', BA_DINH, '198.51.100.1', 'Failed password for root from 198.51.100.1');
    const e2 = event('ev-dong-da', DONG_DA, '198.51.100.2', 'Failed password for admin from 198.51.100.2');
    const a1 = alertOf('al-ba-dinh', e1, 'high');
    const a2 = alertOf('al-dong-da', e2, 'critical');
    await events.insertEvents([e1, e2]);
    await events.insertAlerts([a1, a2]);
    mine = (await incidents.recordAlert(a1, 15 * 60_000)).incident;
    theirs = (await incidents.recordAlert(a2, 15 * 60_000)).incident;
    for (const i of [mine, theirs]) await queue.enqueue(i);

    // Users through the API; sessions through login.
    const users: Array<[string, string, string | undefined]> = [
      ['city.lead', 'lead', undefined],
      ['city.analyst', 'analyst', undefined],
      ['city.auditor', 'auditor', undefined],
      ['badinh.responder', 'responder', 'hanoi/ba-dinh'],
      ['badinh.analyst', 'analyst', 'hanoi/ba-dinh'],
    ];
    for (const [username, role, unit] of users) {
      await http()
        .post('/api/v1/users')
        .set(as('admin'))
        .send({ username, password: `${username} secret pw`, role, ...(unit ? { unit } : {}) })
        .expect(201);
      const res = await http()
        .post('/api/v1/auth/login')
        .send({ username, password: `${username} secret pw` })
        .expect(200);
      tokens[username] = (res.body as { token: string }).token;
    }
  }, 60_000);

  afterAll(async () => {
    await queue.queue.obliterate({ force: true });
    await api.close();
  });

  describe('authentication', () => {
    it.each([
      ['no header', {}],
      ['a wrong API key', { authorization: 'Bearer csk_nope_nope_nope_nope_nope' }],
      ['a wrong session token', { authorization: 'Bearer css_nope_nope_nope_nope_nope' }],
      ['another scheme', { authorization: `Basic ${adminToken}` }],
    ])('answers 401 to %s', async (_n, headers) => {
      await http().get('/api/v1/incidents').set(headers).expect(401);
      await http().post('/api/v1/incidents/claim').set(headers).expect(401);
    });

    it('issues a short-lived session token that works, and one answer for every refusal', async () => {
      const res = await http()
        .post('/api/v1/auth/login')
        .send({ username: 'city.analyst', password: 'city.analyst secret pw' })
        .expect(200);
      const body = res.body as { token: string; expires_at: string };
      expect(body.token).toMatch(/^css_/);
      const ttl = Date.parse(body.expires_at) - Date.now();
      expect(ttl).toBeGreaterThan(29 * 60_000);
      expect(ttl).toBeLessThanOrEqual(30 * 60_000);
      await http()
        .get('/api/v1/incidents')
        .set({ authorization: `Bearer ${body.token}` })
        .expect(200);
      const wrong = await http()
        .post('/api/v1/auth/login')
        .send({ username: 'city.analyst', password: 'nope' })
        .expect(401);
      const unknown = await http()
        .post('/api/v1/auth/login')
        .send({ username: 'nobody', password: 'nope' })
        .expect(401);
      expect(wrong.body).toEqual(unknown.body);
      await http()
        .post('/api/v1/auth/logout')
        .set({ authorization: `Bearer ${body.token}` })
        .expect(204);
      await http()
        .get('/api/v1/incidents')
        .set({ authorization: `Bearer ${body.token}` })
        .expect(401);
    });

    it('locks an account after repeated wrong passwords, even against the right one', async () => {
      await http()
        .post('/api/v1/users')
        .set(as('admin'))
        .send({ username: 'target', password: 'target secret pw', role: 'analyst' })
        .expect(201);
      for (let i = 0; i < 3; i++)
        await http()
          .post('/api/v1/auth/login')
          .send({ username: 'target', password: `guess ${i}` })
          .expect(401);
      await http()
        .post('/api/v1/auth/login')
        .send({ username: 'target', password: 'target secret pw' })
        .expect(401);
      const audit = control.audit.list(20).filter((e) => e.action.includes('AuthController.login'));
      expect(audit[0]).toMatchObject({
        outcome: 'failure',
        detail: { refused: 'locked', username: 'target' },
      });
      expect(JSON.stringify(audit)).not.toContain('target secret pw');
    });
  });

  describe('passwords', () => {
    it('lets a user change their own password, ending their other sessions, and an admin reset it', async () => {
      await http()
        .post('/api/v1/users')
        .set(as('admin'))
        .send({ username: 'rotates', password: 'first long passphrase', role: 'analyst' })
        .expect(201);
      const login = async (password: string, status = 200) =>
        (
          (await http().post('/api/v1/auth/login').send({ username: 'rotates', password }).expect(status))
            .body as { token: string }
        ).token;
      const here = { authorization: `Bearer ${await login('first long passphrase')}` };
      const elsewhere = { authorization: `Bearer ${await login('first long passphrase')}` };
      // The console's account page shows who the caller is; an API key says it is one.
      expect((await http().get('/api/v1/auth/me').set(here).expect(200)).body).toEqual({
        username: 'rotates',
        role: 'analyst',
        unit: null,
        kind: 'session',
      });
      expect((await http().get('/api/v1/auth/me').set(as('admin')).expect(200)).body).toMatchObject({
        kind: 'api_key',
      });
      await http().get('/api/v1/auth/me').expect(401);

      // Wrong current password: 403, nothing changes, and the refusal is audited without the secrets.
      await http()
        .post('/api/v1/auth/password')
        .set(here)
        .send({ current_password: 'not it', new_password: 'second long passphrase' })
        .expect(403);
      await http().get('/api/v1/incidents').set(elsewhere).expect(200);
      // Too short, and API keys (no password) are refused before anything is checked.
      await http()
        .post('/api/v1/auth/password')
        .set(here)
        .send({ current_password: 'first long passphrase', new_password: 'short' })
        .expect(400);
      await http()
        .post('/api/v1/auth/password')
        .set(as('admin'))
        .send({ current_password: 'x', new_password: 'second long passphrase' })
        .expect(400);

      await http()
        .post('/api/v1/auth/password')
        .set(here)
        .send({ current_password: 'first long passphrase', new_password: 'second long passphrase' })
        .expect(204);
      await http().get('/api/v1/incidents').set(here).expect(200);
      await http().get('/api/v1/incidents').set(elsewhere).expect(401);
      await login('first long passphrase', 401);
      await login('second long passphrase');

      const user = control.auth.listUsers().find((u) => u.username === 'rotates')!;
      await http()
        .post(`/api/v1/users/${user.id}/password`)
        .set(as('city.lead'))
        .send({ password: 'third long passphrase' })
        .expect(403);
      await http()
        .post(`/api/v1/users/${user.id}/password`)
        .set(as('admin'))
        .send({ password: 'third long passphrase' })
        .expect(204);
      await http().get('/api/v1/incidents').set(here).expect(401);
      await login('third long passphrase');
      await http()
        .post('/api/v1/users/no-such-user/password')
        .set(as('admin'))
        .send({ password: 'fourth long passphrase' })
        .expect(404);

      const audit = control.audit.list(50).filter((e) => /password/i.test(e.action));
      expect(audit.map((e) => e.outcome)).toEqual(expect.arrayContaining(['success', 'failure']));
      expect(audit.find((e) => e.detail.refused === 'wrong_current_password')).toBeDefined();
      expect(JSON.stringify(audit)).not.toMatch(/long passphrase|not it/);
    });
  });

  describe('roles', () => {
    it.each([
      ['an analyst claiming', 'city.analyst', 'post', '/api/v1/incidents/claim', undefined],
      ['an analyst reading the audit log', 'city.analyst', 'get', '/api/v1/audit', undefined],
      [
        'a responder creating users',
        'badinh.responder',
        'post',
        '/api/v1/users',
        { username: 'x', password: 'x'.repeat(12), role: 'admin' },
      ],
      ['a responder assigning', 'badinh.responder', 'post', '/api/v1/incidents/ID/assign', { assignee: 'x' }],
      [
        'an auditor transitioning',
        'city.auditor',
        'post',
        '/api/v1/incidents/ID/transition',
        { status: 'acknowledged' },
      ],
      [
        'an analyst listing failed notifications',
        'city.analyst',
        'get',
        '/api/v1/notifications/failed',
        undefined,
      ],
      ['a lead issuing tokens', 'city.lead', 'post', '/api/v1/tokens', { name: 'x', role: 'admin' }],
    ] as const)('answers 403 to %s', async (_n, who, method, route, body) => {
      const r = http()[method](route.replace('ID', mine.id)).set(as(who));
      await (body ? r.send(body) : r).expect(403);
    });

    it('lets the auditor read the audit log and the lead read failed notifications and the SLA report', async () => {
      await http().get('/api/v1/audit').set(as('city.auditor')).expect(200);
      await http().get('/api/v1/notifications/failed').set(as('city.lead')).expect(200);
      const report = await http().get('/api/v1/incidents/sla-report').set(as('city.lead')).expect(200);
      expect((report.body as { items: Array<{ unit_path: string }> }).items.map((r) => r.unit_path)).toEqual([
        'hanoi/ba-dinh',
        'hanoi/dong-da',
      ]);
    });
  });

  describe('unit scoping', () => {
    it('shows a unit-bound user only their subtree, and answers 404 for everything else', async () => {
      const list = await http().get('/api/v1/incidents').set(as('badinh.analyst')).expect(200);
      expect((list.body as { items: Incident[] }).items.map((i) => i.id)).toEqual([mine.id]);
      await http().get(`/api/v1/incidents/${theirs.id}`).set(as('badinh.analyst')).expect(404);
      await http().get('/api/v1/alerts/al-dong-da').set(as('badinh.analyst')).expect(404);
      await http().get('/api/v1/alerts/al-ba-dinh').set(as('badinh.analyst')).expect(200);
      const alerts = await http().get('/api/v1/alerts').set(as('badinh.analyst')).expect(200);
      expect((alerts.body as { items: Alert[] }).items.map((a) => a.id)).toEqual(['al-ba-dinh']);
      const events = await http().get('/api/v1/events?q=failed').set(as('badinh.analyst')).expect(200);
      expect((events.body as { items: EcsEvent[] }).items.map((e) => e.event.id)).toEqual(['ev-ba-dinh']);
      const cityWide = await http().get('/api/v1/events?q=failed').set(as('city.analyst')).expect(200);
      expect((cityWide.body as { items: EcsEvent[] }).items).toHaveLength(2);
      const report = await http().get('/api/v1/incidents/sla-report').set(as('admin')).expect(200);
      expect((report.body as { items: unknown[] }).items).toHaveLength(2);
    });

    it.each([
      ['transition', 'transition', { status: 'false_positive', reason: 'x' }],
      ['comment', 'comments', { text: 'peek' }],
      ['tag', 'tags', { add: ['peek'] }],
      ['heartbeat', 'heartbeat', undefined],
    ])('answers 404 to a %s on another unit’s incident and changes nothing', async (_n, action, body) => {
      const who = action === 'heartbeat' ? 'badinh.responder' : 'badinh.analyst';
      const before = await incidents.get(theirs.id);
      const r = http().post(`/api/v1/incidents/${theirs.id}/${action}`).set(as(who));
      await (body ? r.send(body) : r).expect(404);
      expect(await incidents.get(theirs.id)).toEqual(before);
      expect(await incidents.comments(theirs.id)).toEqual([]);
    });

    it('hands a unit-bound responder only their unit’s incident, leaving the more urgent one queued', async () => {
      expect(theirs.priority).toBeGreaterThan(mine.priority);
      const res = await http().post('/api/v1/incidents/claim').set(as('badinh.responder')).expect(200);
      expect(res.body).toMatchObject({ id: mine.id, status: 'acknowledged', assignee: 'badinh.responder' });
      expect(await queue.getJob(theirs.id).then((j) => j?.getState())).toBe('prioritized');
      await http().post('/api/v1/incidents/claim').set(as('badinh.responder')).expect(204);
      const hb = await http()
        .post(`/api/v1/incidents/${mine.id}/heartbeat`)
        .set(as('badinh.responder'))
        .expect(200);
      expect(Date.parse((hb.body as Incident).claim_expires_at!)).toBeGreaterThan(Date.now());
      // The detail carries the evidence: alerts and the events behind them, ATT&CK, provenance, unit.
      const detail = await http().get(`/api/v1/incidents/${mine.id}`).set(as('badinh.responder')).expect(200);
      expect(detail.body).toMatchObject({
        alerts: [{ id: 'al-ba-dinh' }],
        events: [{ event: { id: 'ev-ba-dinh' } }],
        mitre: { techniques: ['T1110'] },
        rule_author: 'citysoc',
        unit: { path: 'hanoi/ba-dinh', criticality: 'high' },
      });
    });

    it('closes in bulk only the listed incidents the caller may see', async () => {
      const res = await http()
        .post('/api/v1/incidents/bulk/false-positive')
        .set(as('badinh.analyst'))
        .send({ ids: [theirs.id], reason: 'scanner of the IT department' })
        .expect(200);
      expect(res.body).toEqual({ closed: [], refused: [{ id: theirs.id, error: 'not found' }] });
      expect((await incidents.get(theirs.id))?.status).toBe('new');
    });
  });

  describe('validation', () => {
    it.each([
      ['an unknown status', 'transition', { status: 'pwned', reason: 'x' }],
      ['a first-release status', 'transition', { status: 'closed', reason: 'x' }],
      ['closing without a reason', 'transition', { status: 'false_positive' }],
      ['a duplicate naming nothing', 'transition', { status: 'duplicate', reason: 'same' }],
      [
        'a duplicate of a malformed id',
        'transition',
        { status: 'duplicate', reason: 'same', duplicate_of: "x' OR 1=1" },
      ],
      ['an unknown field', 'transition', { status: 'acknowledged', sneaky: true }],
      ['an empty comment', 'comments', { text: '' }],
      ['a tag with spaces', 'tags', { add: ['no spaces allowed'] }],
      ['an assignee that is not a name', 'assign', { assignee: 'a b' }],
    ])('refuses %s with 400 and changes nothing', async (_n, action, body) => {
      const before = await incidents.get(theirs.id);
      await http().post(`/api/v1/incidents/${theirs.id}/${action}`).set(as('admin')).send(body).expect(400);
      expect(await incidents.get(theirs.id)).toEqual(before);
      expect(await incidents.comments(theirs.id)).toEqual([]);
    });

    it.each([
      ['no ids', { ids: [], reason: 'x' }],
      ['repeated ids', { ids: [theirs?.id ?? 'a', theirs?.id ?? 'a'], reason: 'x' }],
      ['too many ids', { ids: Array.from({ length: 201 }, (_, i) => `id${i}`), reason: 'x' }],
      ['no reason', { ids: ['abc'] }],
      ['a filter instead of ids', { status: 'new', reason: 'x' }],
    ])('refuses a bulk close with %s', async (_n, body) => {
      const before = (await incidents.list({})).items;
      await http().post('/api/v1/incidents/bulk/false-positive').set(as('city.lead')).send(body).expect(400);
      expect((await incidents.list({})).items).toEqual(before);
    });

    it.each([
      ['a short password', { username: 'u1', password: 'short', role: 'analyst' }],
      ['an unknown role', { username: 'u1', password: 'long enough pw', role: 'root' }],
      [
        'a unit that is not a path',
        { username: 'u1', password: 'long enough pw', role: 'analyst', unit: '../x' },
      ],
      ['a bad user name', { username: 'a b', password: 'long enough pw', role: 'analyst' }],
      ['an extra field', { username: 'u1', password: 'long enough pw', role: 'analyst', admin: true }],
    ])('refuses a user with %s', async (_n, body) => {
      const before = control.auth.listUsers().length;
      await http().post('/api/v1/users').set(as('admin')).send(body).expect(400);
      expect(control.auth.listUsers()).toHaveLength(before);
    });

    it('answers 409 to a second user of the same name', async () => {
      await http()
        .post('/api/v1/users')
        .set(as('admin'))
        .send({ username: 'city.lead', password: 'another long pw', role: 'admin' })
        .expect(409);
    });
  });

  describe('lifecycle through the API', () => {
    it('works a claimed incident to resolution and completes its queue job', async () => {
      const auth = as('badinh.responder');
      await http()
        .post(`/api/v1/incidents/${mine.id}/transition`)
        .set(auth)
        .send({ status: 'in_progress' })
        .expect(200);
      await http()
        .post(`/api/v1/incidents/${mine.id}/comments`)
        .set(auth)
        .send({ text: 'blocked at the edge' })
        .expect(201);
      const done = await http()
        .post(`/api/v1/incidents/${mine.id}/transition`)
        .set(auth)
        .send({ status: 'resolved', reason: 'blocked 198.51.100.1 at the firewall' })
        .expect(200);
      expect(done.body).toMatchObject({ status: 'resolved', reason: 'blocked 198.51.100.1 at the firewall' });
      expect(await queue.getJob(mine.id).then((j) => j?.getState())).toBe('completed');
      const entry = control.audit
        .list(5)
        .find((e) => e.action.includes('transition') && e.outcome === 'success');
      expect(entry?.detail).toMatchObject({
        before: { status: 'in_progress' },
        after: { status: 'resolved' },
      });
    });

    it('marks a duplicate naming its original, and a lead closes the rest as false positive in bulk', async () => {
      const other = (
        await incidents.recordAlert(
          alertOf('al-dup', event('ev-dup', DONG_DA, '198.51.100.3', 'Failed password'), 'low'),
          60_000,
        )
      ).incident;
      await http()
        .post(`/api/v1/incidents/${other.id}/transition`)
        .set(as('city.lead'))
        .send({ status: 'duplicate', reason: 'same campaign', duplicate_of: theirs.id })
        .expect(200);
      expect(await incidents.get(other.id)).toMatchObject({ status: 'duplicate', duplicate_of: theirs.id });
      const res = await http()
        .post('/api/v1/incidents/bulk/false-positive')
        .set(as('city.lead'))
        .send({ ids: [theirs.id, other.id], reason: 'penetration test announced' })
        .expect(200);
      expect(res.body).toEqual({
        closed: [theirs.id],
        refused: [{ id: other.id, error: 'an incident cannot go from duplicate to false_positive' }],
      });
      expect(await queue.getJob(theirs.id)).toBeUndefined();
    });
  });

  describe('documentation and metrics', () => {
    it('publishes an OpenAPI document with the new routes and exports queue, wait and SLA metrics', async () => {
      const doc = await http().get('/api/docs/openapi.json').expect(200);
      const paths = Object.keys((doc.body as { paths: Record<string, unknown> }).paths);
      expect(paths).toEqual(
        expect.arrayContaining([
          '/api/v1/auth/login',
          '/api/v1/users',
          '/api/v1/incidents/claim',
          '/api/v1/incidents/{id}/heartbeat',
          '/api/v1/incidents/{id}/transition',
          '/api/v1/incidents/bulk/false-positive',
          '/api/v1/incidents/sla-report',
          '/api/v1/notifications/failed',
        ]),
      );
      const metrics = await http().get('/metrics').expect(200);
      expect(metrics.text).toMatch(/^citysoc_incident_queue_jobs\{state="prioritized"\} \d+/m);
      expect(metrics.text).toMatch(/^citysoc_incident_queue_oldest_wait_seconds /m);
      expect(metrics.text).toMatch(/^citysoc_incident_queue_wait_seconds_count\{app="api"\} [1-9]/m);
      expect(metrics.text).toMatch(/^citysoc_notify_jobs\{state="failed"\} 0/m);
    });
  });

  describe('audit', () => {
    it('detects an edited audit record and names it', async () => {
      const ok = await http().get('/api/v1/audit/verify').set(as('city.auditor')).expect(200);
      expect(ok.body).toMatchObject({ ok: true });
      const n = (ok.body as { entries: number }).entries;
      expect(n).toBeGreaterThan(10);
      control.db.prepare("UPDATE audit_log SET detail = '{}' WHERE seq = 5").run();
      const edited = await http().get('/api/v1/audit/verify').set(as('city.auditor')).expect(200);
      expect(edited.body).toEqual({ ok: false, entries: 4, brokenAt: 5 });
    });

    it('rate-limits logins from one address with 429, audited', async () => {
      let status = 0;
      for (let i = 0; i < 60 && status !== 429; i++)
        status = (await http().post('/api/v1/auth/login').send({ username: 'nobody', password: 'x' })).status;
      expect(status).toBe(429);
      const last = control.audit.list(1)[0];
      expect(last).toMatchObject({ outcome: 'failure', detail: { status: 429, refused: 'rate_limited' } });
    }, 120_000);
  });
});
