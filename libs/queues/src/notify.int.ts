import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { uniquePrefix, waitFor } from '@citysoc/testing';
import { redisConnection } from './incidents-queue';
import { NotifyQueue, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './notify-queue';

/** Notifications against real Redis, a local HTTP receiver and a real SMTP server. */
describe('the notify queue', () => {
  const url = process.env.CITYSOC_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const secret = 'test-webhook-secret-0123456789';
  let http: Server;
  let smtp: SMTPServer;
  let httpPort = 0;
  let smtpPort = 0;
  /** Status to answer per path, consumed in order; then 200. */
  const script = new Map<string, number[]>();
  const received: Array<{ path: string; body: string; headers: IncomingMessage['headers'] }> = [];
  const mails: string[] = [];
  let redis: ReturnType<typeof redisConnection>;
  let notify: NotifyQueue | undefined;

  beforeAll(async () => {
    http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({ path, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
        const next = script.get(path)?.shift() ?? 200;
        res.writeHead(next).end();
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as AddressInfo).port;
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push(Buffer.concat(chunks).toString('utf8'));
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    smtpPort = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => http.close(r));
    await new Promise<void>((r) => smtp.close(() => r()));
  });
  beforeEach(() => {
    redis = redisConnection(url);
  });
  afterEach(async () => {
    await notify?.queue.obliterate({ force: true });
    await notify?.close();
    redis.disconnect();
  });

  const make = (webhookPaths: string[], attempts: number) =>
    new NotifyQueue(`citysoc-${uniquePrefix()}`, redis, {
      webhookUrls: webhookPaths.map((p) => `http://127.0.0.1:${httpPort}${p}`),
      webhookSecret: secret,
      smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
      emailFrom: 'citysoc@soc.example.gov.vn',
      leadEmails: ['lead@soc.example.gov.vn'],
      attempts,
      backoffMs: 50,
      timeoutMs: 5000,
    });

  it('retries a failing webhook with backoff until it answers, signed with HMAC-SHA256, and mails the lead', async () => {
    script.set('/flaky', [500, 503]);
    notify = make(['/flaky'], 5);
    const delivered: string[] = [];
    notify.start({ delivered: (j) => delivered.push(j.channel), failed: () => undefined });
    const n = {
      key: 'sla_breach:inc-1:acknowledge:0',
      subject: 'SLA breached: inc-1',
      payload: { incident: 'inc-1' },
    };
    expect(await notify.notify(n, { toLeads: true })).toBe(2);
    // The same fact again is the same jobs: nobody hears twice.
    expect(await notify.notify(n, { toLeads: true })).toBe(2);
    await waitFor(() => delivered.length === 2, 'webhook and e-mail delivered');
    const hits = received.filter((r) => r.path === '/flaky');
    expect(hits).toHaveLength(3);
    const last = hits[2]!;
    const ts = String(last.headers[TIMESTAMP_HEADER]);
    expect(last.headers[SIGNATURE_HEADER]).toBe(signWebhook(secret, ts, last.body));
    expect(JSON.parse(last.body)).toMatchObject({ key: n.key, incident: 'inc-1' });
    expect(
      mails.some((m) => m.includes('Subject: SLA breached: inc-1') && m.includes('lead@soc.example.gov.vn')),
    ).toBe(true);
    expect(await notify.failed()).toEqual([]);
  });

  it('keeps a delivery that exhausted its attempts in the failed list and reports it', async () => {
    script.set('/down', [500, 500, 500]);
    notify = make(['/down'], 3);
    const failures: boolean[] = [];
    notify.start({ delivered: () => undefined, failed: (_j, _e, final) => failures.push(final) });
    await notify.notify({ key: 'k-down', subject: 'test', payload: {} }, { toLeads: false });
    const failed = await waitFor(async () => {
      const f = await notify!.failed();
      return f.length === 1 ? f : undefined;
    }, 'the delivery to fail for good');
    expect(failed[0]).toMatchObject({ channel: 'webhook', key: 'k-down', attempts: 3 });
    expect(failed[0]!.failed_reason).toMatch(/answered 500/);
    expect(failures).toEqual([false, false, true]);
  });
  it('records a dry run (drill incident) for every recipient, sends nothing, once per fact', async () => {
    notify = make(['/dry'], 3);
    const delivered: string[] = [];
    notify.start({ delivered: (j) => delivered.push(j.key), failed: () => undefined });
    const n = {
      key: 'sla_breach:inc-drill:acknowledge:0',
      subject: 'SLA breached: inc-drill',
      payload: { incident: 'inc-drill' },
    };
    const reason = 'drill d-NOTIFY01 (dry-run)';
    expect(await notify.notify(n, { toLeads: true, dryRun: reason })).toBe(2);
    expect(await notify.notify(n, { toLeads: true, dryRun: reason })).toBe(2);
    const dry = await notify.dryRuns();
    expect(dry.total).toBe(2);
    expect(dry.items.map((d) => [d.channel, d.target, d.reason]).sort()).toEqual([
      ['email', 'lead@soc.example.gov.vn', reason],
      ['webhook', `http://127.0.0.1:${httpPort}/dry`, reason],
    ]);
    expect(dry.items[0]).toMatchObject({
      key: n.key,
      subject: n.subject,
      payload: { incident: 'inc-drill' },
    });
    // A real notification through the same queue is delivered; the dry run never was.
    await notify.notify({ ...n, key: 'sla_breach:inc-real:acknowledge:0' }, { toLeads: false });
    await waitFor(() => delivered.length === 1, 'the real webhook delivered');
    expect(delivered).toEqual(['sla_breach:inc-real:acknowledge:0']);
    expect(
      received.filter((r) => r.path === '/dry').map((r) => (JSON.parse(r.body) as { key: string }).key),
    ).toEqual(['sla_breach:inc-real:acknowledge:0']);
    expect(mails.some((m) => m.includes('inc-drill'))).toBe(false);
    expect(await notify.counts()).toMatchObject({ completed: 1, failed: 0, waiting: 0 });
  });
});
