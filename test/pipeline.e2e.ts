import { execFileSync } from 'node:child_process';
import { Queue } from 'bullmq';
import path from 'node:path';
import { type Incident, type Page } from '@citysoc/store';
import { Pipeline, repoRoot, waitFor } from '@citysoc/testing';

/**
 * The foundation's promise: a line from a real sender (util-linux logger) becomes an incident that a
 * responder can claim, over UDP and over TCP in both framings.
 */
describe('when util-linux logger sends syslog to the running pipeline', () => {
  // logger writes RFC 3164 times in this machine's zone; the collector must be told which one that is.
  const pipeline = new Pipeline({
    env: {
      CITYSOC_SYSLOG_TIMEZONE: Intl.DateTimeFormat().resolvedOptions().timeZone,
      CITYSOC_UNITS_FILE: path.join(repoRoot(), 'deploy', 'units.example.yml'),
    },
  });
  beforeAll(() => pipeline.start(), 120_000);
  afterAll(() => pipeline.stop(), 60_000);

  const logger = (args: string[], message: string) =>
    execFileSync('logger', [
      '--server',
      '127.0.0.1',
      '--port',
      String(pipeline.syslogPort),
      '-t',
      'sshd',
      '-p',
      'auth.info',
      ...args,
      message,
    ]);

  it('turns failed SSH logins sent over UDP, TCP and octet-counted TCP into one claimable incident', async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    logger(
      ['--udp', '--rfc5424'],
      `Failed password for invalid user u${tag} from 203.0.113.7 port 4242 ssh2`,
    );
    logger(
      ['--tcp', '--rfc3164'],
      `Failed password for invalid user v${tag} from 203.0.113.7 port 4243 ssh2`,
    );
    logger(
      ['--tcp', '--octet-count', '--rfc5424'],
      `Failed password for invalid user w${tag} from 203.0.113.7 port 4244 ssh2`,
    );

    const incident = await waitFor(async () => {
      const { body } = await pipeline.api<Page<Incident>>('GET', '/api/v1/incidents');
      const inc = body.items.find((i) => i.title.startsWith('SSH authentication failure'));
      return inc && inc.alert_count === 3 && inc.queued ? inc : undefined;
    }, 'an incident with three alerts');
    expect(incident.severity).toBe('medium');
    expect(incident.status).toBe('new');
    // The sshd decoder takes the attacker's address from the message, not the sending host's.
    expect(incident.entity).toBe('source.ip:203.0.113.7');

    // Every line is searchable, whatever transport or framing carried it.
    for (const u of [`u${tag}`, `v${tag}`, `w${tag}`]) {
      const { body } = await pipeline.api<Page<{ citysoc: { input: { transport: string } } }>>(
        'GET',
        `/api/v1/events?q=${u}`,
      );
      expect(body.items).toHaveLength(1);
    }
    const transports = new Set<string>();
    for (const u of [`u${tag}`, `v${tag}`, `w${tag}`]) {
      const { body } = await pipeline.api<Page<{ citysoc: { input: { transport: string } } }>>(
        'GET',
        `/api/v1/events?q=${u}`,
      );
      transports.add(body.items[0]!.citysoc.input.transport);
    }
    expect([...transports].sort()).toEqual(['tcp', 'udp']);

    const queue = new Queue('incidents', {
      connection: { host: '127.0.0.1', port: 6379 },
      prefix: pipeline.queuePrefix,
    });
    try {
      const job = await queue.getJob(incident.id);
      expect(job?.data.incidentId).toBe(incident.id);
      expect(await job?.getState()).toBe('prioritized');

      const claim = await pipeline.api<Incident>('POST', '/api/v1/incidents/claim');
      expect(claim.status).toBe(200);
      expect(claim.body.id).toBe(incident.id);
      expect(claim.body.status).toBe('acknowledged');
      expect(claim.body.assignee).toBe('admin');
      // The claim holds the job under its lock until the incident is closed.
      expect(await (await queue.getJob(incident.id))?.getState()).toBe('active');

      const empty = await pipeline.api('POST', '/api/v1/incidents/claim');
      expect(empty.status).toBe(204);

      const working = await pipeline.api<Incident>('POST', `/api/v1/incidents/${incident.id}/transition`, {
        status: 'in_progress',
      });
      expect(working.status).toBe(200);
      const resolved = await pipeline.api<Incident>('POST', `/api/v1/incidents/${incident.id}/status`, {
        status: 'resolved',
        note: 'blocked 203.0.113.7',
      });
      expect(resolved.status).toBe(200);
      expect(resolved.body.status).toBe('resolved');
      expect(await (await queue.getJob(incident.id))?.getState()).toBe('completed');
    } finally {
      await queue.close();
    }
    const audit = await pipeline.api<{ items: Array<{ action: string; actor: string }> }>(
      'GET',
      '/api/v1/audit',
    );
    expect(audit.body.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(['POST IncidentsController.claim', 'POST IncidentsController.transition']),
    );
  }, 90_000);

  it('attributes an internal address to the ward that owns it', async () => {
    logger(
      ['--tcp', '--octet-count', '--rfc5424'],
      'Accepted password for root from 10.10.1.23 port 40022 ssh2',
    );
    const event = await waitFor(async () => {
      const { body } = await pipeline.api<
        Page<{ citysoc: { source_unit?: { id: string; path: string[] } } }>
      >('GET', '/api/v1/events?field=source.ip:10.10.1.23');
      return body.items[0];
    }, 'the event from 10.10.1.23');
    expect(event.citysoc.source_unit).toMatchObject({
      id: 'hoan-kiem.trang-tien',
      path: ['hanoi', 'hoan-kiem', 'hoan-kiem.trang-tien'],
    });
  }, 30_000);

  it('refuses API calls without a token and reports health', async () => {
    const res = await fetch(`${pipeline.apiUrl}/api/v1/incidents`);
    expect(res.status).toBe(401);
    const health = await fetch(`${pipeline.apiUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      checks: { nats: { ok: true }, redis: { ok: true }, store: { ok: true } },
    });
    const metrics = await (await fetch(`${pipeline.apiUrl}/metrics`)).text();
    expect(metrics).toContain('citysoc_incident_queue_jobs');
    const page = await fetch(`${pipeline.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('data-app="citysoc-console"');
  });
});
