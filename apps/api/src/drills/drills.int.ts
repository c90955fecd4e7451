import { type INestApplication } from '@nestjs/common';
import { ApiRunRegistry, markDrillEvent } from '@citysoc/drills';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { type ControlStore, type EventStore, type IncidentStore } from '@citysoc/store';
import { cleanupStreams, drillRunRecord, startTestApi, type TestApi, uniquePrefix } from '@citysoc/testing';
import { DrillsController } from './drills.controller';
import { EVENT_STORE } from '../tokens';

/**
 * Drill runs through the API against real NATS (the drill-runs KV bucket) and SQLite: registration by a
 * drill controller only (not a lead: leads are tested in blind exercises), overlap refused, blind mode for analysts, abort closing the run's incidents, audit entries.
 */
describe('drill runs API and blind mode (issue 9)', () => {
  const prefix = uniquePrefix();
  const adminToken = `csk_admin_${'d'.repeat(30)}`;
  let api: TestApi;
  let app: INestApplication;
  let control: ControlStore;
  let incidents: IncidentStore;
  let lead: string;
  let controller: string;
  let analyst: string;
  const run = 'd-APITEST1';
  const http = () => api.http();

  function alert(id: string, entity: string, drillRun?: string): Alert {
    const t = new Date().toISOString();
    let event: EcsEvent = { '@timestamp': t, event: { id: `ev-${id}`, created: t } };
    if (drillRun) event = markDrillEvent(event, drillRun);
    return {
      id,
      '@timestamp': t,
      created_at: t,
      rule: { id: 'r-ssh', title: 'SSH brute force', level: 'high', version: 'v1' },
      entity,
      event_ids: [event.event.id],
      event,
    };
  }

  const body = (runId: string, port: number) => ({
    runId,
    scenario: 'ssh-bruteforce-ward',
    scenarioSha256: 'a'.repeat(64),
    syslog: [{ transport: 'udp' as const, address: '127.0.0.1', port }],
    exporters: [{ address: '127.0.0.1', domain: 4242 }],
    window: { start: new Date().toISOString(), end: new Date(Date.now() + 3_600_000).toISOString() },
    seed: 7,
    speed: 20,
  });

  beforeAll(async () => {
    api = await startTestApi({
      adminToken,
      name: 'drills-api',
      prefix,
      listen: true,
      env: {
        CITYSOC_STREAM_PREFIX: prefix,
        ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
      },
    });
    ({ app, control, incidents } = api);
    const issue = api.issueToken;
    lead = await issue('a.lead', 'lead');
    analyst = await issue('an.analyst', 'analyst');
    controller = await issue('a.controller', 'controller');
  }, 30_000);

  afterAll(async () => {
    await api.close();
    await cleanupStreams(prefix);
  });

  it('registers a run for a drill controller only, refuses an overlapping one and bad input, and lists runs', async () => {
    for (const token of [analyst, lead])
      await http()
        .post('/api/v1/drills/runs')
        .set('authorization', `Bearer ${token}`)
        .send(body(run, 41001))
        .expect(403);
    await http().get('/api/v1/drills/runs').set('authorization', `Bearer ${lead}`).expect(403);
    await http()
      .post('/api/v1/drills/runs')
      .set('authorization', `Bearer ${controller}`)
      .send({ ...body(run, 41001), syslog: [{ transport: 'udp', address: 'nope', port: 1 }] })
      .expect(400);
    const ok = await http()
      .post('/api/v1/drills/runs')
      .set('authorization', `Bearer ${controller}`)
      .send(body(run, 41001))
      .expect(201);
    // Notifications of its incidents are only recorded unless the scenario opted in.
    expect(ok.body).toMatchObject({
      runId: run,
      status: 'running',
      registeredBy: 'a.controller',
      notify: 'dry-run',
    });
    const clash = await http()
      .post('/api/v1/drills/runs')
      .set('authorization', `Bearer ${controller}`)
      .send(body('d-APITEST2', 41001))
      .expect(409);
    expect(JSON.stringify(clash.body)).toContain('overlaps active run');
    const list = await http()
      .get('/api/v1/drills/runs')
      .set('authorization', `Bearer ${controller}`)
      .expect(200);
    expect((list.body as { items: Array<{ runId: string }> }).items.map((r) => r.runId)).toEqual([run]);
    const audit = control.audit.list(20).filter((e) => e.action.includes('DrillsController.register'));
    expect(audit.map((e) => e.outcome).sort()).toEqual([
      'failure',
      'failure',
      'failure',
      'failure',
      'success',
    ]);
  });

  it('blind mode: analysts and leads see no drill badge until the incident is closed; abort closes it', async () => {
    const drill = (await incidents.recordAlert(alert('al-d1', 'source.ip:198.51.100.60', run), 60_000))
      .incident;
    const mixed = (await incidents.recordAlert(alert('al-m1', 'source.ip:198.51.100.61', run), 60_000))
      .incident;
    await incidents.recordAlert(alert('al-m2', 'source.ip:198.51.100.61'), 60_000);
    expect((await incidents.get(drill.id))!.tags).toEqual(['drill', `drill-run:${run}`]);

    // The shift lead is part of the team under test: blind like an analyst.
    for (const token of [analyst, lead]) {
      const asTested = await http()
        .get(`/api/v1/incidents/${drill.id}`)
        .set('authorization', `Bearer ${token}`)
        .expect(200);
      expect(asTested.body.tags).toEqual([]);
      expect(asTested.body).not.toHaveProperty('drill');
      const listed = await http()
        .get('/api/v1/incidents')
        .set('authorization', `Bearer ${token}`)
        .expect(200);
      expect(JSON.stringify(listed.body)).not.toContain('drill');
      await http().get('/api/v1/incidents?tag=drill').set('authorization', `Bearer ${token}`).expect(403);
    }
    await http().get('/api/v1/notifications/dry-run').set('authorization', `Bearer ${lead}`).expect(403);
    await http()
      .get('/api/v1/notifications/dry-run')
      .set('authorization', `Bearer ${controller}`)
      .expect(200);
    await http()
      .post(`/api/v1/incidents/${drill.id}/tags`)
      .set('authorization', `Bearer ${lead}`)
      .send({ remove: ['drill'] })
      .expect(400);

    const asController = await http()
      .get(`/api/v1/incidents/${drill.id}`)
      .set('authorization', `Bearer ${controller}`)
      .expect(200);
    expect(asController.body).toMatchObject({ drill: true, tags: ['drill', `drill-run:${run}`] });
    const mixedAsController = await http()
      .get(`/api/v1/incidents/${mixed.id}`)
      .set('authorization', `Bearer ${controller}`)
      .expect(200);
    expect(mixedAsController.body).toMatchObject({ drill: false, tags: ['drill-mixed'] });
    // Least privilege: a controller follows the run but does not work incidents.
    await http()
      .post(`/api/v1/incidents/${drill.id}/transition`)
      .set('authorization', `Bearer ${controller}`)
      .send({ status: 'acknowledged' })
      .expect(403);
    await http().post('/api/v1/incidents/claim').set('authorization', `Bearer ${controller}`).expect(403);
    await http()
      .post(`/api/v1/incidents/${drill.id}/tags`)
      .set('authorization', `Bearer ${controller}`)
      .send({ add: ['x'] })
      .expect(403);

    for (const token of [analyst, lead])
      await http()
        .post(`/api/v1/drills/runs/${run}/abort`)
        .set('authorization', `Bearer ${token}`)
        .send({})
        .expect(403);
    const aborted = await http()
      .post(`/api/v1/drills/runs/${run}/abort`)
      .set('authorization', `Bearer ${controller}`)
      .send({ reason: 'weather' })
      .expect(200);
    expect(aborted.body).toMatchObject({ run: { status: 'aborted' }, closed: [drill.id] });
    expect(await incidents.get(drill.id)).toMatchObject({ status: 'resolved' });
    expect((await incidents.get(drill.id))!.reason).toContain(`drill-aborted: run ${run}`);
    // The mixed incident is real: abort leaves it alone.
    expect((await incidents.get(mixed.id))!.status).toBe('new');

    const closedAsAnalyst = await http()
      .get(`/api/v1/incidents/${drill.id}`)
      .set('authorization', `Bearer ${analyst}`)
      .expect(200);
    expect(closedAsAnalyst.body).toMatchObject({ drill: true });
    expect(control.audit.list(50).some((e) => e.action.includes('DrillsController.abort'))).toBe(true);
  });

  it('blind mode covers alerts and events: no drill mark reaches an analyst or a lead, controllers see them', async () => {
    const events = app.get<EventStore>(EVENT_STORE);
    const runId = 'd-BLINDEV1';
    const t = new Date().toISOString();
    const original = `<38>1 ${t} ward-01 sshd 4242 - [citysoc-drill@32473 id="${runId}"] Failed password for root from 198.51.100.70 port 4000 ssh2`;
    const ev = markDrillEvent(
      {
        '@timestamp': t,
        event: { id: 'ev-blind-1', created: t, original, module: 'syslog' },
        message: 'Failed password for root from 198.51.100.70 port 4000 ssh2',
        log: { syslog: { structured_data: { 'citysoc-drill@32473': { id: runId } } } },
        source: { ip: '198.51.100.70' },
      },
      runId,
    );
    await events.insertEvents([ev]);
    const a = { ...alert('al-blind-1', 'source.ip:198.51.100.70'), event: ev, event_ids: [ev.event.id] };
    await events.insertAlerts([a]);
    const inc = (await incidents.recordAlert(a, 60_000)).incident;

    const get = async (url: string, token: string) =>
      JSON.stringify((await http().get(url).set('authorization', `Bearer ${token}`).expect(200)).body);
    for (const url of [
      '/api/v1/alerts',
      '/api/v1/alerts/al-blind-1',
      '/api/v1/events?field=source.ip:198.51.100.70',
      `/api/v1/incidents/${inc.id}`,
    ]) {
      for (const token of [analyst, lead]) {
        const seen = await get(url, token);
        // The alert or event is there, with the message and the address, but nothing says "drill".
        expect(seen).toContain('198.51.100.70');
        expect(seen).not.toMatch(/drill/i);
      }
      expect(await get(url, controller)).toContain(runId);
    }
    const one = JSON.parse(await get('/api/v1/alerts/al-blind-1', analyst)) as Alert;
    expect(one.event.event.original).toBe(original.replace(`[citysoc-drill@32473 id="${runId}"]`, '-'));
    expect(one.event.labels).toBeUndefined();
    expect(one.event.tags).toBeUndefined();

    // Searching by the marks is the same leak through the back door.
    for (const q of [`field=labels.drill:${runId}`, 'field=tags:drill', 'q=citysoc-drill'])
      for (const token of [analyst, lead])
        await http().get(`/api/v1/events?${q}`).set('authorization', `Bearer ${token}`).expect(403);
    await http()
      .get('/api/v1/events?field=tags:drill')
      .set('authorization', `Bearer ${controller}`)
      .expect(200);
  });

  it('statistics exclude drill incidents: SLA report, Prometheus breaches, rule false-positive rates', async () => {
    const stat = async () => {
      const sla = (
        await http().get('/api/v1/incidents/sla-report').set('authorization', `Bearer ${lead}`).expect(200)
      ).body as { items: Array<{ incidents: number; acknowledge_breaches: number }> };
      const metrics = (await http().get('/metrics').expect(200)).text;
      const rules = (
        await http().get('/api/v1/console/rules').set('authorization', `Bearer ${lead}`).expect(200)
      ).body as { items: Array<{ rule_id: string; incidents: number }> };
      return {
        incidents: sla.items.reduce((n, r) => n + r.incidents, 0),
        ackBreaches: sla.items.reduce((n, r) => n + r.acknowledge_breaches, 0),
        realGauge:
          metrics.match(/^citysoc_incident_sla_breaches\{kind="acknowledge".*\} (\d+)$/m)?.[1] ?? '0',
        drillGauge:
          metrics.match(/^citysoc_drill_incident_sla_breaches\{kind="acknowledge".*\} (\d+)$/m)?.[1] ?? '0',
        ruleIncidents: rules.items.find((r) => r.rule_id === 'r-stats')?.incidents ?? 0,
        latencySample: (
          (await http().get('/api/v1/console/dashboard').set('authorization', `Bearer ${lead}`).expect(200))
            .body as { detection_latency_ms: { alerts: number } }
        ).detection_latency_ms.alerts,
      };
    };
    const before = await stat();
    const drillAlert = { ...alert('al-stat-d', 'source.ip:198.51.100.90', 'd-STATS002') };
    drillAlert.rule = { ...drillAlert.rule, id: 'r-stats' };
    await app.get<EventStore>(EVENT_STORE).insertAlerts([drillAlert]);
    const d = (await incidents.recordAlert(drillAlert, 60_000)).incident;
    await incidents.recordSlaBreach(d.id, 'acknowledge', Date.now());
    const after = await stat();
    // Stored and counted apart, but in no real statistic.
    expect(after).toEqual({ ...before, drillGauge: String(Number(before.drillGauge) + 1) });
    expect((await incidents.get(d.id))!.tags).toEqual(['drill', 'drill-run:d-STATS002']);
  });

  it('validates drill client certificate fingerprints and stores them normalized', async () => {
    const fp = 'AB:'.repeat(31) + 'AB';
    const only = (clientCerts: unknown) => ({
      ...body('d-CERTAPI1', 41005),
      syslog: [],
      exporters: [],
      clientCerts,
    });
    for (const bad of [['ab'.repeat(31)], ['zz'.repeat(32)], 'ab'.repeat(32), [42]])
      await http()
        .post('/api/v1/drills/runs')
        .set('authorization', `Bearer ${controller}`)
        .send(only(bad))
        .expect(400);
    // A certificate alone is an allocation (a TLS sender on any port).
    const ok = await http()
      .post('/api/v1/drills/runs')
      .set('authorization', `Bearer ${controller}`)
      .send(only([fp, 'ab'.repeat(32)]))
      .expect(201);
    expect(ok.body.clientCerts).toEqual(['ab'.repeat(32)]);
    // The same certificate in an overlapping run would make attribution ambiguous.
    const clash = await http()
      .post('/api/v1/drills/runs')
      .set('authorization', `Bearer ${controller}`)
      .send({ ...only(['AB'.repeat(32)]), runId: 'd-CERTAPI2' })
      .expect(409);
    expect(JSON.stringify(clash.body)).toContain(`client certificate ${'ab'.repeat(32)}`);
    await http()
      .post('/api/v1/drills/runs/d-CERTAPI1/abort')
      .set('authorization', `Bearer ${controller}`)
      .send({})
      .expect(200);
  });

  it('the runner registers and finishes through the API client, with the same records as the bucket', async () => {
    const reg = new ApiRunRegistry({ url: await app.getUrl(), token: controller });
    const now = Date.now();
    await reg.register(
      drillRunRecord(
        {
          ...body('d-APITEST3', 41003),
          window: { start: new Date(now).toISOString(), end: new Date(now + 60_000).toISOString() },
          registeredBy: 'ignored: the API takes the caller',
          notify: 'deliver',
        },
        now,
      ),
    );
    expect((await app.get(DrillsController).list()).items.find((r) => r.runId === 'd-APITEST3')?.notify).toBe(
      'deliver',
    );
    const done = (await reg.finish('d-APITEST3', 'finished', { result: 'pass', scorecard: 'runs/x' })) as {
      status: string;
      result: string;
      registeredBy: string;
    };
    expect(done).toMatchObject({ status: 'finished', result: 'pass', registeredBy: 'a.controller' });
    await expect(reg.finish('d-APITEST3', 'finished')).rejects.toThrow('HTTP 409');
  });
});
