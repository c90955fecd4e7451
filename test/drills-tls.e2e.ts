import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiRunRegistry, loadScenario, runLive } from '@citysoc/drills';
import { freePort, Pipeline, repoRoot } from '@citysoc/testing';

/**
 * The open TLS question of docs/drills.md: ssh-bruteforce-ward with its syslog source switched to TLS
 * (octet framing, client certificate) through the built pipeline, with API registration and marker
 * attribution. It passes: the earlier failed live run was not reproduced (see docs/drills.md).
 */
describe('ssh-bruteforce-ward with syslog over TLS (--ci)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-drill-tls-'));
  let pipeline: Pipeline;
  let ipfixPort = 0;
  let tlsPort = 0;

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
    ssl(
      'x509',
      '-req',
      '-in',
      'cli.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'cli.crt',
      '-days',
      '1',
    );
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
      api: { url: pipeline.apiUrl, token: pipeline.adminToken },
      // Registered through the API: only records from the runner's TLS source port and IPFIX domain count.
      registry: new ApiRunRegistry({ url: pipeline.apiUrl, token: pipeline.adminToken }),
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
});
