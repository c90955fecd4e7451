import { Queue } from 'bullmq';
import path from 'node:path';
import { type Incident, type Page } from '@citysoc/store';
import { octetCount, Pipeline, repoRoot, sendTcp, waitFor } from '@citysoc/testing';

/**
 * Issue 6's end-to-end promise, on the built apps with real NATS and Redis: syslog lines become one grouped
 * incident in the right unit, its SLA timer fires and escalates it, a unit-bound responder logs in and
 * claims it under a lock, an abandoned claim returns to the queue when the lock lapses, and resolving
 * completes the job.
 */
describe('from a syslog line to a claimed, resolved incident', () => {
  const pipeline = new Pipeline({
    apps: ['indexer', 'detector', 'responder', 'collector', 'api'],
    env: {
      CITYSOC_UNITS_FILE: path.join(repoRoot(), 'deploy', 'units.example.yml'),
      // ≈ 2 s to acknowledge a medium incident; no resolve deadline.
      CITYSOC_SLA_POLICY: 'medium=0.03/-',
      CITYSOC_CLAIM_LOCK_SECONDS: '5',
    },
  });
  beforeAll(() => pipeline.start(), 180_000);
  afterAll(() => pipeline.stop(), 60_000);

  async function login(username: string, password: string): Promise<string> {
    const res = await fetch(`${pipeline.apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  }

  async function call<T>(token: string, method: string, route: string, body?: unknown) {
    const res = await fetch(`${pipeline.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  it('groups, times, escalates, claims, returns an abandoned claim and resolves', async () => {
    // Units: which one owns 10.1.1.20 is read from the example registry, not assumed here.
    const ts = new Date().toISOString();
    const lines = [1, 2, 3].map(
      (n) =>
        `<38>1 ${ts} web-${n}.hanoi.gov.vn sshd ${n} - - Failed password for invalid user u${n} from 198.51.100.77 port ${4000 + n} ssh2`,
    );
    await sendTcp(pipeline.syslogPort, octetCount(lines));

    const incident = await waitFor(
      async () => {
        const { body } = await pipeline.api<Page<Incident>>('GET', '/api/v1/incidents');
        const inc = body.items.find((i) => i.entity === 'source.ip:198.51.100.77');
        return inc && inc.alert_count === 3 && inc.queued ? inc : undefined;
      },
      'one incident grouping the three alerts',
      60_000,
    );
    expect(incident.grouping_reason).toMatch(/about source\.ip:198\.51\.100\.77 within 15 min/);
    expect(incident.sla.acknowledge_due).not.toBeNull();
    expect(incident.mitre.techniques.length).toBeGreaterThan(0);

    // Nobody claims it in time: the breach is recorded and the job moves to the front of the queue.
    const breached = await waitFor(
      async () => {
        const { body } = await pipeline.api<Incident>('GET', `/api/v1/incidents/${incident.id}`);
        return body.sla.breaches.length > 0 ? body : undefined;
      },
      'the acknowledge deadline to pass',
      60_000,
    );
    expect(breached.sla.breaches[0]!.kind).toBe('acknowledge');
    const queue = new Queue('incidents', {
      connection: { host: '127.0.0.1', port: 6379 },
      prefix: pipeline.queuePrefix,
    });
    try {
      expect((await queue.getJob(incident.id))?.priority).toBe(1);

      // Two responders with passwords; sessions from login.
      for (const username of ['lan.responder', 'minh.responder'])
        expect(
          (
            await pipeline.api('POST', '/api/v1/users', {
              username,
              password: `${username} passphrase`,
              role: 'responder',
            })
          ).status,
        ).toBe(201);
      const lan = await login('lan.responder', 'lan.responder passphrase');
      const minh = await login('minh.responder', 'minh.responder passphrase');

      const first = await call<Incident>(lan, 'POST', '/api/v1/incidents/claim');
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({
        id: incident.id,
        status: 'acknowledged',
        assignee: 'lan.responder',
      });
      expect((await call(lan, 'POST', `/api/v1/incidents/${incident.id}/heartbeat`)).status).toBe(200);
      expect((await call(minh, 'POST', '/api/v1/incidents/claim')).status).toBe(204);

      // Lan goes silent: the lock lapses, the job returns, and Minh takes it over.
      const second = await waitFor(
        async () => {
          const r = await call<Incident>(minh, 'POST', '/api/v1/incidents/claim');
          return r.status === 200 ? r.body : undefined;
        },
        'the abandoned claim to return to the queue',
        60_000,
      );
      expect(second).toMatchObject({ id: incident.id, status: 'acknowledged', assignee: 'minh.responder' });
      expect((await call(lan, 'POST', `/api/v1/incidents/${incident.id}/heartbeat`)).status).toBe(409);

      expect(
        (await call(minh, 'POST', `/api/v1/incidents/${incident.id}/transition`, { status: 'in_progress' }))
          .status,
      ).toBe(200);
      const done = await call<Incident>(minh, 'POST', `/api/v1/incidents/${incident.id}/transition`, {
        status: 'resolved',
        reason: 'blocked 198.51.100.77 at the edge firewall',
      });
      expect(done.status).toBe(200);
      expect(await (await queue.getJob(incident.id))?.getState()).toBe('completed');
    } finally {
      await queue.close();
    }

    const detail = await pipeline.api<{
      alerts: unknown[];
      events: unknown[];
      history: Array<{ actor: string }>;
    }>('GET', `/api/v1/incidents/${incident.id}`);
    expect(detail.body.alerts).toHaveLength(3);
    expect(detail.body.events).toHaveLength(3);
    expect(detail.body.history.map((h) => h.actor)).toEqual(
      expect.arrayContaining(['system', 'lan.responder', 'minh.responder']),
    );
  }, 240_000);
});
