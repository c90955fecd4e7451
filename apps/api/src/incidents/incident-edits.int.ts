import { type INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '@citysoc/config';
import { type Alert } from '@citysoc/ecs';
import { type IncidentQueue, type SlaQueue } from '@citysoc/queues';
import {
  type BulkJob,
  type ControlStore,
  type EventStore,
  type Incident,
  type IncidentStore,
} from '@citysoc/store';
import { uniquePrefix, waitFor } from '@citysoc/testing';
import { bootstrapAdmin, createApiApp } from '../app';
import { apiSchema } from '../config';
import { CONTROL_STORE, EVENT_STORE, INCIDENT_QUEUE, SLA_QUEUE, INCIDENT_STORE } from '../tokens';

const T0 = Date.parse('2026-11-27T03:00:00Z');
const HANG_BAC = { id: 'hb', name: 'Phường Hàng Bạc', path: ['hanoi', 'hoan-kiem', 'hang-bac'] };
const KIM_MA = { id: 'km', name: 'Phường Kim Mã', path: ['hanoi', 'ba-dinh', 'kim-ma'] };

function alert(
  id: string,
  minutes: number,
  o: {
    rule?: string;
    level?: Alert['rule']['level'];
    ip?: string;
    unit?: typeof HANG_BAC;
    tags?: string[];
  } = {},
): Alert {
  const ts = new Date(T0 + minutes * 60_000).toISOString();
  const ip = o.ip ?? '10.0.0.1';
  return {
    id,
    '@timestamp': ts,
    created_at: ts,
    rule: {
      id: o.rule ?? 'r-brute',
      title: `Rule ${o.rule ?? 'r-brute'}`,
      level: o.level ?? 'low',
      version: 'v1',
      tags: o.tags ?? ['attack.credential-access', 'attack.t1110'],
    },
    entity: `source.ip:${ip}`,
    event_ids: [`ev-${id}`],
    event: {
      '@timestamp': ts,
      event: { id: `ev-${id}`, created: ts },
      source: { ip },
      citysoc: { unit: { ...(o.unit ?? HANG_BAC), criticality: 'medium' } },
    },
  };
}

/** Evidence pins, merge, split and background bulk jobs against real SQLite, Redis (BullMQ) and NATS. */
describe('incident edits: evidence, merge, split, bulk jobs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-incident-edits-'));
  const adminToken = `csk_admin_${'e'.repeat(30)}`;
  let app: INestApplication;
  let control: ControlStore;
  let incidents: IncidentStore;
  let events: EventStore;
  let queue: IncidentQueue;
  let sla: SlaQueue;
  let lead: string;
  let ward: string;
  let other: string;

  const record = async (a: Alert): Promise<Incident> => {
    await events.insertAlerts([a]);
    await events.insertEvents([{ ...a.event }]);
    const r = await incidents.recordAlert(a, 60 * 60_000);
    if (!r.incident.queued) {
      await queue.enqueue(r.incident);
      await incidents.markQueued(r.incident.id);
    }
    return (await incidents.get(r.incident.id))!;
  };

  beforeAll(async () => {
    const config = loadConfig(apiSchema, {
      CITYSOC_DATA_DIR: dir,
      CITYSOC_QUEUE_PREFIX: `citysoc-${uniquePrefix()}`,
      CITYSOC_SLA_POLICY: 'low=600/6000,high=30/300',
    });
    app = await createApiApp(config);
    await app.init();
    bootstrapAdmin(app, adminToken);
    control = app.get<ControlStore>(CONTROL_STORE);
    incidents = app.get<IncidentStore>(INCIDENT_STORE);
    events = app.get<EventStore>(EVENT_STORE);
    queue = app.get<IncidentQueue>(INCIDENT_QUEUE);
    sla = app.get<SlaQueue>(SLA_QUEUE);
    const issue = async (name: string, role: string, unit?: string) =>
      (
        (
          await request(app.getHttpServer())
            .post('/api/v1/tokens')
            .set('authorization', `Bearer ${adminToken}`)
            .send({ name, role, ...(unit ? { unit } : {}) })
            .expect(201)
        ).body as { token: string }
      ).token;
    lead = await issue('the.lead', 'lead');
    ward = await issue('kim.ma.analyst', 'analyst', 'hanoi/ba-dinh/kim-ma');
    other = await issue('other.analyst', 'analyst');
  }, 30_000);

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (token: string) => ({
    get: (route: string) => request(app.getHttpServer()).get(route).set('authorization', `Bearer ${token}`),
    post: (route: string, body: object) =>
      request(app.getHttpServer()).post(route).set('authorization', `Bearer ${token}`).send(body),
    del: (route: string) =>
      request(app.getHttpServer()).delete(route).set('authorization', `Bearer ${token}`),
  });
  const audit = (action: string) =>
    control.db
      .prepare('SELECT * FROM audit_log WHERE action LIKE ? ORDER BY seq')
      .all(`%${action}%`) as Array<{
      outcome: string;
      detail: string;
      actor: string;
    }>;

  it('pins and unpins an alert and an event with a note, audited, and shows them on the incident', async () => {
    const inc = await record(alert('p1', 0, { ip: '10.0.1.1' }));
    await record(alert('p2', 5, { ip: '10.0.1.1' }));
    const base = `/api/v1/incidents/${inc.id}`;
    const pinned = await as(lead)
      .post(`${base}/evidence`, { kind: 'alert', ref: 'p2', note: 'second try' })
      .expect(200);
    expect(pinned.body).toMatchObject({ kind: 'alert', ref_id: 'p2', note: 'second try', actor: 'the.lead' });
    await as(lead)
      .post(`${base}/evidence`, { kind: 'event', ref: 'ev-p1', note: 'the first login' })
      .expect(200);
    // An alert of another incident, and an event that does not exist, are refused.
    const elsewhere = await record(alert('p3', 0, { ip: '10.0.1.99' }));
    expect(elsewhere.id).not.toBe(inc.id);
    await as(lead).post(`${base}/evidence`, { kind: 'alert', ref: 'p3', note: 'x' }).expect(404);
    await as(lead).post(`${base}/evidence`, { kind: 'event', ref: 'ev-none', note: 'x' }).expect(404);
    // The Kim Mã analyst cannot see (nor pin on) a Hàng Bạc incident.
    await as(ward).post(`${base}/evidence`, { kind: 'alert', ref: 'p1', note: 'x' }).expect(404);
    const detail = await as(lead).get(base).expect(200);
    expect(
      detail.body.evidence.map((e: { kind: string; ref_id: string }) => `${e.kind}:${e.ref_id}`),
    ).toEqual(['alert:p2', 'event:ev-p1']);
    await as(lead).del(`${base}/evidence/alert/p2`).expect(200);
    await as(lead).del(`${base}/evidence/alert/p2`).expect(404);
    expect((await as(lead).get(base).expect(200)).body.evidence).toHaveLength(1);
    const pins = audit('IncidentEditsController.pin');
    expect(pins.filter((a) => a.outcome === 'success')).toHaveLength(2);
    expect(pins.filter((a) => a.outcome === 'failure')).toHaveLength(3);
    expect(audit('IncidentEditsController.unpin').map((a) => a.outcome)).toEqual(['success', 'failure']);
  });

  it('merges B into A: alerts move, B becomes duplicate of A, earliest SLA deadline kept, jobs consistent', async () => {
    const a = await record(alert('m1', 0, { ip: '10.0.2.1', rule: 'r-a', level: 'low' }));
    const b = await record(
      alert('m2', 1, { ip: '10.0.2.2', rule: 'r-b', level: 'high', tags: ['attack.t1078'] }),
    );
    await record(alert('m3', 2, { ip: '10.0.2.2', rule: 'r-b', level: 'high', tags: ['attack.t1078'] }));
    // Deadlines as the responder would have set them: B's are earlier.
    await incidents.setSlaDeadlines(a.id, [
      { kind: 'acknowledge', dueMs: T0 + 600 * 60_000 },
      { kind: 'resolve', dueMs: T0 + 6000 * 60_000 },
    ]);
    await incidents.setSlaDeadlines(b.id, [
      { kind: 'acknowledge', dueMs: T0 + 31 * 60_000 },
      { kind: 'resolve', dueMs: T0 + 301 * 60_000 },
    ]);
    const foreign = await record(alert('m4', 0, { ip: '10.0.2.3', unit: KIM_MA }));
    // Scope: the Kim Mã analyst cannot merge Hàng Bạc incidents, nor pull one into theirs.
    await as(ward)
      .post(`/api/v1/incidents/${foreign.id}/merge`, { sources: [a.id], reason: 'x' })
      .expect(404);
    await as(lead)
      .post(`/api/v1/incidents/${a.id}/merge`, { sources: [a.id], reason: 'x' })
      .expect(409);

    const r = await as(lead)
      .post(`/api/v1/incidents/${a.id}/merge`, { sources: [b.id], reason: 'same attacker' })
      .expect(200);
    expect(r.body.moved).toBe(2);
    expect(r.body.target).toMatchObject({ id: a.id, alert_count: 3, severity: 'high' });
    expect(r.body.target.rule_ids.sort()).toEqual(['r-a', 'r-b']);
    expect(r.body.target.mitre.techniques).toEqual(['T1078', 'T1110']);
    // SLA: B's deadlines are the earliest of the parts (and earlier than A's policy at high from its start).
    expect(r.body.target.sla.acknowledge_due).toBe(new Date(T0 + 31 * 60_000).toISOString());
    expect(r.body.target.sla.resolve_due).toBe(new Date(T0 + 301 * 60_000).toISOString());
    const timers = await sla.queue.getJobs(['delayed', 'waiting', 'completed']);
    expect(timers.filter((j) => j.data.incidentId === a.id && j.id?.includes('merge-')).length).toBe(2);
    expect((await incidents.alertIds(a.id)).sort()).toEqual(['m1', 'm2', 'm3']);
    const dup = (await incidents.get(b.id))!;
    expect(dup).toMatchObject({
      status: 'duplicate',
      duplicate_of: a.id,
      alert_count: 0,
      reason: 'same attacker',
    });
    // B's queue job is gone; A's job moved up to its new priority.
    expect(await queue.getJob(b.id)).toBeUndefined();
    expect((await queue.getJob(a.id))?.priority).toBeLessThan(
      (await queue.getJob(foreign.id))?.priority ?? Infinity,
    );
    // Merging again (B is closed now) is refused.
    await as(lead)
      .post(`/api/v1/incidents/${a.id}/merge`, { sources: [b.id], reason: 'again' })
      .expect(409);
    const merges = audit('IncidentEditsController.merge');
    expect(merges.map((m) => m.outcome)).toEqual(['failure', 'failure', 'success', 'failure']);
    expect(JSON.parse(merges[2]!.detail)).toMatchObject({ incident: a.id, merged: [b.id], moved: 2 });
  });

  it('splits selected alerts into a new incident on the same SLA clock, queued; all or none is refused', async () => {
    const src = await record(alert('s1', 0, { ip: '10.0.3.1', rule: 'r-s', level: 'low' }));
    await record(alert('s2', 1, { ip: '10.0.3.1', rule: 'r-s', level: 'low' }));
    await record(alert('s3', 2, { ip: '10.0.3.1', rule: 'r-s', level: 'low' }));
    await as(lead)
      .post(`/api/v1/incidents/${src.id}/split`, { alert_ids: ['s1', 's2', 's3'], reason: 'x' })
      .expect(409);
    await as(lead)
      .post(`/api/v1/incidents/${src.id}/split`, { alert_ids: ['m1'], reason: 'x' })
      .expect(404);
    await as(ward)
      .post(`/api/v1/incidents/${src.id}/split`, { alert_ids: ['s3'], reason: 'x' })
      .expect(404);
    const r = await as(lead)
      .post(`/api/v1/incidents/${src.id}/split`, { alert_ids: ['s3'], reason: 'different host' })
      .expect(200);
    const created = r.body.created as Incident;
    expect(created).toMatchObject({
      status: 'new',
      alert_count: 1,
      split_from: src.id,
      queued: true,
      severity: 'low',
    });
    expect(created.unit?.path).toBe('hanoi/hoan-kiem/hang-bac');
    expect(r.body.source).toMatchObject({ id: src.id, alert_count: 2 });
    expect(await incidents.alertIds(created.id)).toEqual(['s3']);
    // Same clock as the source: deadlines count from the source's start, not from the split.
    expect(created.sla.acknowledge_due).toBe(
      new Date(Date.parse(src.created_at) + 600 * 60_000).toISOString(),
    );
    expect(await queue.getJob(created.id)).toBeDefined();
    const timers = await sla.queue.getJobs(['delayed', 'waiting']);
    expect(
      timers
        .filter((j) => j.data.incidentId === created.id)
        .map((j) => j.data.kind)
        .sort(),
    ).toEqual(['acknowledge', 'resolve']);
    // A later alert of the group still joins the source, not the split-off incident.
    const later = await record(alert('s4', 3, { ip: '10.0.3.1', rule: 'r-s', level: 'low' }));
    expect(later.id).toBe(src.id);
    const splits = audit('IncidentEditsController.split');
    expect(splits.map((s) => s.outcome)).toEqual(['failure', 'failure', 'failure', 'success']);
    expect(JSON.parse(splits[3]!.detail)).toMatchObject({ incident: src.id, created: created.id, moved: 1 });
  });

  it('runs a bulk close as a background job with progress, audited at start and end, visible to its owner', async () => {
    for (let i = 0; i < 40; i++)
      await record(alert(`b${i}`, 24 * 60 + i, { ip: `10.9.0.${i}`, rule: 'r-bulk' }));
    const range = {
      from: new Date(T0 + 24 * 60 * 60_000).toISOString(),
      to: new Date(T0 + 25 * 60 * 60_000).toISOString(),
      view: 'all',
      rule: 'r-bulk',
    };
    await as(lead)
      .post('/api/v1/console/bulk/jobs', { ...range, expected: 39, reason: 'scanner' })
      .expect(409);
    const started = await as(lead)
      .post('/api/v1/console/bulk/jobs', { ...range, expected: 40, reason: 'scanner' })
      .expect(202);
    const job = started.body as BulkJob;
    expect(job).toMatchObject({ matched: 40, status: 'running' });
    await as(other).get(`/api/v1/console/bulk/jobs/${job.id}`).expect(404);
    let now: BulkJob = job;
    for (let i = 0; i < 100 && now.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = (await as(lead).get(`/api/v1/console/bulk/jobs/${job.id}`).expect(200)).body as BulkJob;
      expect(now.done).toBeGreaterThanOrEqual(0);
    }
    expect(now).toMatchObject({ status: 'finished', matched: 40, done: 40, succeeded: 40, failed: 0 });
    expect(
      (await incidents.list({ ruleId: 'r-bulk', status: 'false_positive', limit: 100 })).items,
    ).toHaveLength(40);
    const starts = audit('BulkJobsController.start');
    expect(starts.map((s) => s.outcome)).toEqual(['failure', 'success']);
    const ends = audit('BulkJobsController.finished');
    expect(ends).toHaveLength(1);
    expect(JSON.parse(ends[0]!.detail)).toMatchObject({
      job: job.id,
      matched: 40,
      succeeded: 40,
      failed: [],
    });
  });

  it('closes a selection with the same background job: only the ids given, out-of-scope ones fail', async () => {
    const mine = [];
    for (let i = 0; i < 3; i++)
      mine.push(
        await record(alert(`sel${i}`, 30 * 60 + i, { ip: `10.8.0.${i}`, rule: 'r-sel', unit: KIM_MA })),
      );
    const elsewhere = await record(alert('sel-hb', 30 * 60 + 5, { ip: '10.8.1.1', rule: 'r-sel' }));
    const untouched = await record(
      alert('sel-kept', 30 * 60 + 6, { ip: '10.8.0.9', rule: 'r-sel', unit: KIM_MA }),
    );
    await as(ward).post('/api/v1/console/bulk/jobs/selection', { ids: [], reason: 'x' }).expect(400);
    await as(ward)
      .post('/api/v1/console/bulk/jobs/selection', { ids: [mine[0]!.id, mine[0]!.id], reason: 'x' })
      .expect(400);
    const started = await as(ward)
      .post('/api/v1/console/bulk/jobs/selection', {
        ids: [...mine.map((m) => m.id), elsewhere.id],
        reason: 'lab scanner',
      })
      .expect(202);
    const job = started.body as BulkJob;
    expect(job).toMatchObject({ matched: 4, status: 'running' });
    const end = await waitFor(async () => {
      const now = (await as(ward).get(`/api/v1/console/bulk/jobs/${job.id}`).expect(200)).body as BulkJob;
      return now.status !== 'running' && now;
    }, 'the selection job to finish');
    expect(end).toMatchObject({ status: 'finished', matched: 4, done: 4, succeeded: 3, failed: 1 });
    expect(end.failures.map((f) => f.id)).toEqual([elsewhere.id]);
    for (const m of mine) expect((await incidents.get(m.id))!.status).toBe('false_positive');
    expect((await incidents.get(elsewhere.id))!.status).toBe('new');
    expect((await incidents.get(untouched.id))!.status).toBe('new');
    const starts = audit('BulkJobsController.startSelection');
    expect(starts.map((s) => s.outcome)).toEqual(['failure', 'failure', 'success']);
    expect(JSON.parse(starts[2]!.detail)).toMatchObject({
      job: job.id,
      ids: [...mine.map((m) => m.id), elsewhere.id],
    });
  });
});
