import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { ApiRunRegistry, certFingerprint, isDrill, loadScenario, runLive } from '@citysoc/drills';
import { freePort, Pipeline, repoRoot, waitFor } from '@citysoc/testing';

/**
 * The open TLS question of docs/drills.md: ssh-bruteforce-ward with its syslog source switched to TLS
 * (octet framing, client certificate) through the built pipeline, with API registration and marker
 * attribution. It passes: the earlier failed live run was not reproduced (see docs/drills.md). Then the
 * drill client certificate alone (no reserved port): a connection presenting it is the run's, the same
 * lines from another certificate the listener trusts are real, and a marker sent with that one is forged.
 */
describe('ssh-bruteforce-ward with syslog over TLS (--ci)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-drill-tls-'));
  let pipeline: Pipeline;
  let ipfixPort = 0;
  let tlsPort = 0;
  let controllerToken = '';

  beforeAll(async () => {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=drill-test-ca',
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'srv.key',
      '-out',
      'srv.csr',
      '-subj',
      '/CN=localhost',
    );
    writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl(
      'x509',
      '-req',
      '-in',
      'srv.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'srv.crt',
      '-days',
      '1',
      '-extfile',
      'ext',
    );
    // A client certificate from the same CA: the listener requires one (mutual TLS, as in the open report).
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'cli.key',
      '-out',
      'cli.csr',
      '-subj',
      '/CN=drill-runner',
    );
    for (const [name, cn] of [
      ['cli', 'drill-runner'],
      ['oth', 'ward-firewall'],
    ] as const) {
      if (name !== 'cli')
        ssl(
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
          '-subj',
          `/CN=${cn}`,
        );
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
      );
    }
    ipfixPort = await freePort();
    tlsPort = await freePort();
    pipeline = new Pipeline({
      env: {
        CITYSOC_FLOW_IPFIX_PORT: String(ipfixPort),
        CITYSOC_SYSLOG_TLS_PORT: String(tlsPort),
        CITYSOC_SYSLOG_TLS_CERT: path.join(dir, 'srv.crt'),
        CITYSOC_SYSLOG_TLS_KEY: path.join(dir, 'srv.key'),
        CITYSOC_SYSLOG_TLS_CLIENT_CA: path.join(dir, 'ca.crt'),
        CITYSOC_SYSLOG_TIMEZONE: 'Asia/Ho_Chi_Minh',
        CITYSOC_GROUPING: 'keys=entity',
      },
    });
    await pipeline.start();
    const issued = await pipeline.api<{ token: string }>('POST', '/api/v1/tokens', {
      name: 'e2e.controller',
      role: 'controller',
    });
    expect(issued.status).toBe(201);
    controllerToken = issued.body.token;
  }, 180_000);
  afterAll(async () => {
    await pipeline?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('raises the three expected detections, every alert marked for the run', async () => {
    const file = path.join(repoRoot(), 'drills', 'ssh-bruteforce-ward.yaml');
    const yaml = readFileSync(file, 'utf8').replace('transport: udp', 'transport: tls');
    expect(yaml).toContain('transport: tls');
    const l = loadScenario(yaml, file);
    expect(l.problems).toEqual([]);
    const lines: string[] = [];
    const r = await runLive(l.scenario!, l.sha256, {
      seed: 7,
      speed: 20,
      mode: 'ci',
      blind: false,
      targets: {
        host: '127.0.0.1',
        syslogUdpPort: pipeline.syslogPort,
        syslogTcpPort: pipeline.syslogPort,
        syslogTlsPort: tlsPort,
        netflowPort: 0,
        ipfixPort,
        exporterAddress: '127.0.0.1',
        tls: {
          ca: readFileSync(path.join(dir, 'ca.crt')),
          cert: readFileSync(path.join(dir, 'cli.crt')),
          key: readFileSync(path.join(dir, 'cli.key')),
        },
      },
      api: { url: pipeline.apiUrl, token: controllerToken },
      // Registered through the API (a drill controller's token): only records from the runner's TLS source
      // port or client certificate and its IPFIX domain count.
      registry: new ApiRunRegistry({ url: pipeline.apiUrl, token: controllerToken }),
      attribution: 'marker',
      timeoutMs: 30_000,
      pollMs: 1000,
      settleMs: 8000,
      progress: (line) => lines.push(line),
      registeredBy: 'e2e',
    });
    if (r.scorecard.result !== 'pass')
      throw new Error(
        `${JSON.stringify(r.scorecard, null, 2)}\n${lines.join('\n')}\n${(pipeline.logs.get('collector') ?? []).join('').slice(-3000)}`,
      );
    expect(r.sent).toEqual({ syslog: 41, flows: 40 });
    expect(r.scorecard.expectations.map((e) => [e.id, e.detected])).toEqual([
      ['ssh-failed-burst', true],
      ['ssh-flow-burst', true],
      ['brute-then-success', true],
    ]);
  }, 600_000);

  it("a connection presenting the registered drill certificate is the run's from any port; another certificate is real", async () => {
    const get = async <T>(route: string): Promise<T> => {
      const res = await fetch(`${pipeline.apiUrl}${route}`, {
        headers: { authorization: `Bearer ${controllerToken}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    };
    const runId = 'd-TLSCERT1';
    const now = Date.now();
    const reg = await fetch(`${pipeline.apiUrl}/api/v1/drills/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${controllerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        runId,
        scenario: 'ssh-bruteforce-ward',
        scenarioSha256: 'c'.repeat(64),
        // No reserved port: the certificate is the whole allocation.
        syslog: [],
        exporters: [],
        clientCerts: [certFingerprint(readFileSync(path.join(dir, 'cli.crt')))],
        window: { start: new Date(now - 1000).toISOString(), end: new Date(now + 600_000).toISOString() },
      }),
    });
    expect(reg.status).toBe(201);
    // The collector learns the run from the bucket watch: a registered line sent too early would be real.
    await new Promise((r) => setTimeout(r, 2000));
    const send = (who: 'cli' | 'oth', lines: string[]) =>
      new Promise<number>((resolve, reject) => {
        const sock = tls.connect(
          {
            host: '127.0.0.1',
            port: tlsPort,
            ca: readFileSync(path.join(dir, 'ca.crt')),
            cert: readFileSync(path.join(dir, `${who}.crt`)),
            key: readFileSync(path.join(dir, `${who}.key`)),
          },
          () => {
            const port = sock.localPort!;
            sock.end(lines.map((l) => `${Buffer.byteLength(l)} ${l}`).join(''), () => resolve(port));
          },
        );
        sock.once('error', reject);
      });
    const line = (host: string, sd = '-') =>
      `<38>1 ${new Date().toISOString()} ${host} sshd 4242 - ${sd} certcheck from ${host}`;
    const tag = now.toString(36);
    await send('cli', [line(`drillcert-${tag}`)]);
    await send('oth', [line(`realcert-${tag}`)]);
    await send('oth', [line(`forgedcert-${tag}`, `[citysoc-drill@32473 id="${runId}"]`)]);
    const found = await waitFor(
      async () => {
        const page = await get<{ items: EcsEvent[] }>(`/api/v1/events?q=certcheck&limit=100`);
        const by = (h: string) => page.items.find((e) => e.message?.endsWith(`from ${h}-${tag}`));
        const [d, r, f] = [by('drillcert'), by('realcert'), by('forgedcert')];
        return d && r && f ? { d, r, f } : undefined;
      },
      'the three certificate lines in the event store',
      60_000,
    );
    expect(found.d.labels?.['drill']).toBe(runId);
    expect(isDrill(found.d)).toBe(true);
    expect(found.r.labels?.['drill']).toBeUndefined();
    expect(isDrill(found.r)).toBe(false);
    expect(isDrill(found.f)).toBe(false);
    expect((found.f as { citysoc?: { drill_marker_forged?: string } }).citysoc?.drill_marker_forged).toBe(
      runId,
    );
    // rules/citysoc/drill_marker_forged.yml through the real detector.
    const forgedAlert = await waitFor(
      async () =>
        (
          await get<{ items: Alert[] }>(
            '/api/v1/alerts?rule_id=7c41d2a9-5e83-4b0f-9a6d-3f2e8b1c4d57&limit=50',
          )
        ).items.find((a) => JSON.stringify(a.event).includes(runId)),
      'the forged-marker alert',
      60_000,
    );
    expect(forgedAlert.rule.title).toBe('Forged drill marker from an unregistered sender');
  }, 180_000);
});
