import { type INestApplication } from '@nestjs/common';
import http from 'node:http';
import request from 'supertest';
import { type Alert } from '@citysoc/ecs';
import {
  type ControlStore,
  type EventAggregates,
  type EventStore,
  type SavedView,
  type IncidentStore,
} from '@citysoc/store';
import { startTestApi, type TestApi } from '@citysoc/testing';
import { EVENT_STORE } from '../tokens';

const T0 = Date.parse('2026-11-27T03:00:00Z');
const KIM_MA = ['hanoi', 'ba-dinh', 'kim-ma'];
const HANG_BAC = ['hanoi', 'hoan-kiem', 'hang-bac'];

function alertAt(n: number, minutes: number, unitPath: string[], unitName: string): Alert {
  const ts = new Date(T0 + minutes * 60_000).toISOString();
  return {
    id: `a${n}`,
    '@timestamp': ts,
    created_at: ts,
    rule: {
      id: `r${n % 2}`,
      title: 'Test rule',
      level: n % 2 ? 'high' : 'low',
      version: 'v1',
      tags: ['attack.discovery'],
    },
    entity: `source.ip:10.0.0.${n}`,
    event_ids: [`e${n}`],
    event: {
      '@timestamp': ts,
      event: { id: `e${n}`, created: ts },
      source: { ip: `10.0.0.${n}` },
      citysoc: { unit: { id: unitPath.join('.'), name: unitName, path: unitPath, criticality: 'medium' } },
    },
  };
}

/** The console API against real Redis/NATS and a real SQLite file: scope, grouping, bulk by query, stream. */
describe('console API', () => {
  const adminToken = `csk_admin_${'y'.repeat(30)}`;
  let api: TestApi;
  let app: INestApplication;
  let control: ControlStore;
  let incidents: IncidentStore;
  let analyst: string;
  let wardAnalyst: string;

  beforeAll(async () => {
    api = await startTestApi({ adminToken, name: 'console-api' });
    ({ app, control, incidents } = api);
    // Six incidents, an hour apart: even ones in Hàng Bạc, odd ones in Kim Mã.
    for (let n = 0; n < 6; n++) {
      const [p, name] =
        n % 2
          ? [['hanoi', 'ba-dinh', 'kim-ma'], 'Phường Kim Mã']
          : [['hanoi', 'hoan-kiem', 'hang-bac'], 'Phường Hàng Bạc'];
      await incidents.recordAlert(alertAt(n, n * 60, p, name), 60_000);
    }
    const issue = (name: string, unit?: string) => api.issueToken(name, 'responder', unit);
    analyst = await issue('an.analyst');
    wardAnalyst = await issue('ward.analyst', 'hanoi/hoan-kiem/hang-bac');
  }, 30_000);

  afterAll(async () => {
    await api.close();
  });

  const get = (route: string, token = analyst) =>
    request(app.getHttpServer()).get(route).set('authorization', `Bearer ${token}`);

  it('serves the console page at / and client routes under a strict CSP, no login needed', async () => {
    for (const route of ['/', '/queue', '/incidents/abc', '/entities/ip/10.0.0.1']) {
      const r = await request(app.getHttpServer()).get(route).expect(200);
      expect(r.headers['content-type']).toContain('text/html');
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['content-security-policy']).not.toContain('unsafe-inline');
      // Built (dist/console) or the "not built" notice: either way the citysoc page.
      expect(r.text).toMatch(/data-app="citysoc-console"|citysoc console not built/);
    }
    await request(app.getHttpServer()).get('/assets/missing.js').expect(404);
  });

  it('pages the queue with a total and group counts with the highest severity', async () => {
    const r = await get('/api/v1/console/queue?view=open&size=4&group=unit').expect(200);
    expect(r.body.total).toBe(6);
    expect(r.body.items).toHaveLength(4);
    expect(r.body.groups).toEqual([
      { key: 'hanoi/ba-dinh/kim-ma', count: 3, max_severity: 'high' },
      { key: 'hanoi/hoan-kiem/hang-bac', count: 3, max_severity: 'low' },
    ]);
    // Without SLA deadlines, severity decides: the three high ones come first.
    expect(r.body.items.slice(0, 3).map((i: { severity: string }) => i.severity)).toEqual([
      'high',
      'high',
      'high',
    ]);
    const p2 = await get('/api/v1/console/queue?view=open&size=4&page=2').expect(200);
    expect(p2.body.items).toHaveLength(2);
  });

  it('searches without diacritics', async () => {
    const r = await get(`/api/v1/console/queue?view=all&q=${encodeURIComponent('phuong hang bac')}`).expect(
      200,
    );
    expect(r.body.total).toBe(3);
  });

  it('answers a ward-bound user only about that ward, in every aggregate', async () => {
    const r = await get('/api/v1/console/queue?view=all&group=unit', wardAnalyst).expect(200);
    expect(r.body.total).toBe(3);
    expect(r.body.groups.map((g: { key: string }) => g.key)).toEqual(['hanoi/hoan-kiem/hang-bac']);
    const units = await get('/api/v1/console/units', wardAnalyst).expect(200);
    expect(units.body.items.map((u: { path: string }) => u.path)).toEqual(['hanoi/hoan-kiem/hang-bac']);
    const dash = await get('/api/v1/console/dashboard', wardAnalyst).expect(200);
    const byStatus = dash.body.queue.by_status as Array<{ key: string; count: number }>;
    expect(byStatus.reduce((n, r) => n + r.count, 0)).toBe(3);
    expect(dash.body.detection_latency_ms).toEqual({
      alerts: 0,
      ingest_to_alert: null,
      event_to_alert: null,
    });
    const other = (await get('/api/v1/console/queue?view=all&unit=hanoi/ba-dinh').expect(200)).body.items[0]
      .id as string;
    await request(app.getHttpServer())
      .post(`/api/v1/console/incidents/${other}/claim`)
      .set('authorization', `Bearer ${wardAnalyst}`)
      .expect(404);
  });

  it('bulk by query needs a time range, refuses a stale count, and closes only inside the range', async () => {
    const from = new Date(T0 + 90 * 60_000).toISOString();
    const to = new Date(T0 + 210 * 60_000).toISOString();
    const post = (body: object) =>
      request(app.getHttpServer())
        .post('/api/v1/console/bulk/false-positive')
        .set('authorization', `Bearer ${analyst}`)
        .send(body);
    await post({ view: 'open', expected: 1, reason: 'x' }).expect(400);
    const preview = await get(`/api/v1/console/bulk/preview?view=open&from=${from}&to=${to}`).expect(200);
    expect(preview.body.matched).toBe(2); // incidents at +120 and +180 min
    await post({ view: 'open', from, to, expected: 3, reason: 'scanner' }).expect(409);
    const r = await post({ view: 'open', from, to, expected: 2, reason: 'scanner' }).expect(200);
    expect(r.body).toEqual({ matched: 2, succeeded: 2, failed: [] });
    const open = await get('/api/v1/console/queue?view=open').expect(200);
    expect(open.body.total).toBe(4);
    const audit = control.audit.list(5);
    expect(JSON.stringify(audit)).toContain('bulkFalsePositive');
  });

  it('counts hunt results per bucket and per field value, inside the caller scope', async () => {
    const events = app.get<EventStore>(EVENT_STORE);
    await events.insertEvents(
      [0, 1, 2, 3, 4, 5].map((n) => alertAt(100 + n, n * 10, n % 2 ? KIM_MA : HANG_BAC, 'x').event),
    );
    const q = '?from=2026-11-27T03:00:00Z&to=2026-11-27T04:00:00Z&top=source.ip&top=event.dataset';
    const city = (await get(`/api/v1/console/hunt/aggregate${q}`).expect(200)).body as EventAggregates;
    expect(city.total).toBe(6);
    expect(city.intervalMs).toBe(60_000); // one hour in about 60 buckets
    expect(city.histogram.map((b) => b.count)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(city.top['source.ip']).toHaveLength(6);
    const ward = (await get(`/api/v1/console/hunt/aggregate${q}`, wardAnalyst).expect(200))
      .body as EventAggregates;
    expect(ward.total).toBe(3);
    expect(ward.top['source.ip']?.map((v) => v.value).sort()).toEqual([
      '10.0.0.100',
      '10.0.0.102',
      '10.0.0.104',
    ]);
    await get('/api/v1/console/hunt/aggregate?top=a%20b').expect(400);
    await get('/api/v1/console/hunt/aggregate?from=2026-01-01T00:00:00Z&interval=1').expect(400);
  });

  it('saves hunt views per user, shares them read-only, and audits every change', async () => {
    const send = (method: 'post' | 'delete', route: string, token: string, body?: object) =>
      request(app.getHttpServer())[method](route).set('authorization', `Bearer ${token}`).send(body);
    const mine = (
      await send('post', '/api/v1/console/views', analyst, {
        page: 'hunt',
        name: 'SSH failures',
        query: 'q=failed+password',
      }).expect(200)
    ).body as SavedView;
    const replaced = (
      await send('post', '/api/v1/console/views', analyst, {
        page: 'hunt',
        name: 'SSH failures',
        query: 'q=failed',
        shared: true,
      }).expect(200)
    ).body as SavedView;
    expect(replaced.id).toBe(mine.id);
    await send('post', '/api/v1/console/views', analyst, {
      page: 'hunt',
      name: 'private',
      query: 'q=x',
    }).expect(200);
    const theirs = (await get('/api/v1/console/views?page=hunt', wardAnalyst).expect(200)).body as {
      items: SavedView[];
    };
    expect(theirs.items.map((v) => [v.name, v.query])).toEqual([['SSH failures', 'q=failed']]);
    await send('delete', `/api/v1/console/views/${mine.id}`, wardAnalyst).expect(403);
    await send('delete', `/api/v1/console/views/${mine.id}`, analyst).expect(204);
    await get('/api/v1/console/views?page=nope').expect(400);
    const audit = control.db
      .prepare("SELECT action, outcome FROM audit_log WHERE action LIKE '%HuntController%' ORDER BY seq")
      .all() as Array<{ action: string; outcome: string }>;
    expect(audit.map((a) => `${a.action} ${a.outcome}`)).toEqual([
      'POST HuntController.save success',
      'POST HuntController.save success',
      'POST HuntController.save success',
      'DELETE HuntController.remove failure',
      'DELETE HuntController.remove success',
    ]);
  });

  it('streams incident changes in the caller scope', async () => {
    const server = app.getHttpServer() as http.Server;
    if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const events: string[] = [];
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/console/stream',
        headers: { authorization: `Bearer ${wardAnalyst}` },
      },
      (res) => res.on('data', (b: Buffer) => events.push(b.toString())),
    );
    try {
      await waitUntil(() => events.join('').includes('event: ready'));
      // A new alert in Kim Mã (not visible) then one in Hàng Bạc (visible).
      await incidents.recordAlert(alertAt(10, 600, ['hanoi', 'ba-dinh', 'kim-ma'], 'Phường Kim Mã'), 60_000);
      const { incident } = await incidents.recordAlert(
        alertAt(12, 600, ['hanoi', 'hoan-kiem', 'hang-bac'], 'Phường Hàng Bạc'),
        60_000,
      );
      await waitUntil(() => events.join('').includes(incident.id));
      const text = events.join('');
      expect(text).toContain('event: incidents');
      expect(text).not.toContain('kim-ma');
      const ids = [...text.matchAll(/"id":"([0-9a-f]+)"/g)].map((m) => m[1]);
      expect(ids).toEqual([incident.id]);
    } finally {
      req.destroy();
    }
  });
});

async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!ok()) throw new Error('condition not reached within 10 s');
}
