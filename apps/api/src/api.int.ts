import { type IncidentStore } from '@citysoc/store';
import { startTestApi, type TestApi } from '@citysoc/testing';

/** The API's security boundary against real Redis/NATS and a real SQLite file. */
describe('the API boundary', () => {
  const adminToken = `csk_admin_${'x'.repeat(30)}`;
  let api: TestApi;
  let incidents: IncidentStore;
  let analyst: string;
  let responder: string;
  let incidentId: string;

  beforeAll(async () => {
    api = await startTestApi({ adminToken });
    incidents = api.incidents;
    expect(api.bootstrap).toEqual({ preset: true });
    const { incident } = await incidents.recordAlert(
      {
        id: 'a1',
        '@timestamp': '2026-11-27T03:00:00Z',
        created_at: '2026-11-27T03:00:01Z',
        rule: { id: 'r1', title: 'Test rule', level: 'high', version: 'v1' },
        entity: 'source.ip:10.0.0.1',
        event_ids: ['e1'],
        event: { '@timestamp': '2026-11-27T03:00:00Z', event: { id: 'e1', created: '2026-11-27T03:00:00Z' } },
      },
      60_000,
    );
    incidentId = incident.id;
    const issue = api.issueToken;
    analyst = await issue('an.analyst', 'analyst');
    responder = await issue('a.responder', 'responder');
  }, 30_000);

  afterAll(async () => {
    await api.close();
  });

  const http = () => api.http();

  it('answers 401 without a token and with a wrong one', async () => {
    await http().get('/api/v1/incidents').expect(401);
    await http().get('/api/v1/incidents').set('authorization', 'Bearer csk_nope').expect(401);
  });

  it('answers 403 when the role may not do it, and lets the right role through', async () => {
    await http().get('/api/v1/incidents').set('authorization', `Bearer ${analyst}`).expect(200);
    await http().post('/api/v1/incidents/claim').set('authorization', `Bearer ${analyst}`).expect(403);
    await http()
      .post('/api/v1/tokens')
      .set('authorization', `Bearer ${responder}`)
      .send({ name: 'x', role: 'admin' })
      .expect(403);
    await http().get('/api/v1/audit').set('authorization', `Bearer ${analyst}`).expect(403);
  });

  it('refuses malformed input with 400 and changes nothing', async () => {
    const before = await incidents.get(incidentId);
    const auth = { authorization: `Bearer ${responder}` };
    await http()
      .post(`/api/v1/incidents/${incidentId}/status`)
      .set(auth)
      .send({ status: 'pwned', note: 'x' })
      .expect(400);
    await http()
      .post(`/api/v1/incidents/${incidentId}/status`)
      .set(auth)
      .send({ status: 'false_positive' })
      .expect(400);
    await http()
      .post(`/api/v1/incidents/${incidentId}/status`)
      .set(auth)
      .send({ status: 'resolved', note: 'ok', extra: 1 })
      .expect(400);
    await http().get('/api/v1/events?limit=0').set(auth).expect(400);
    await http().get('/api/v1/events?field=nocolon').set(auth).expect(400);
    await http().get("/api/v1/events?field=a')--:1").set(auth).expect(400);
    expect(await incidents.get(incidentId)).toEqual(before);
  });

  it('answers 409 for a transition the lifecycle forbids and 404 for an unknown incident', async () => {
    const auth = { authorization: `Bearer ${responder}` };
    await http()
      .post(`/api/v1/incidents/${incidentId}/status`)
      .set(auth)
      .send({ status: 'resolved', note: 'skip ahead' })
      .expect(409);
    await http()
      .post('/api/v1/incidents/nope/status')
      .set(auth)
      .send({ status: 'false_positive', note: 'x' })
      .expect(404);
  });

  it('records allowed and refused mutating calls in a chain that verifies', async () => {
    const { body } = await http()
      .get('/api/v1/audit?limit=100')
      .set('authorization', `Bearer ${adminToken}`)
      .expect(200);
    const entries = (body as { items: Array<{ action: string; outcome: string; actor: string }> }).items;
    expect(
      entries.some((e) => e.action.includes('claim') && e.outcome === 'failure' && e.actor === 'an.analyst'),
    ).toBe(true);
    expect(entries.some((e) => e.action.includes('createToken') && e.outcome === 'success')).toBe(true);
    expect(entries.some((e) => e.action.includes('transition') && e.outcome === 'failure')).toBe(true);
    const verify = await http()
      .get('/api/v1/audit/verify')
      .set('authorization', `Bearer ${adminToken}`)
      .expect(200);
    expect(verify.body).toMatchObject({ ok: true });
  });
});
