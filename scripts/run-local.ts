/**
 * The one-machine supervisor behind `npm start`: runs every app as its own process (as in production),
 * restarts any that dies, sends a few sample syslog lines once the pipeline is up, and prints where to go.
 * Logs go to data/logs/<app>.log so the terminal stays readable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { type EncFlow, FlowExporter } from '@citysoc/drills';

const root = path.resolve(__dirname, '..', '..');
const dist = path.resolve(__dirname, '..');
const dataDir = path.resolve(process.env.CITYSOC_DATA_DIR ?? path.join(root, 'data'));
const logDir = path.join(dataDir, 'logs');
const apiPort = Number(process.env.CITYSOC_API_PORT ?? 3000);
const syslogPort = Number(process.env.CITYSOC_SYSLOG_TCP_PORT ?? 5514);
const ipfixPort = Number(process.env.CITYSOC_FLOW_IPFIX_PORT ?? 4739);
const APPS = ['indexer', 'detector', 'responder', 'collector', 'reporter', 'api'] as const;

mkdirSync(logDir, { recursive: true, mode: 0o750 });
const firstStart = !existsSync(path.join(dataDir, 'citysoc.sqlite'));
let adminToken = process.env.CITYSOC_ADMIN_TOKEN ?? '';
if (firstStart && !adminToken) adminToken = `csk_${randomBytes(32).toString('base64url')}`;

const env = {
  // The example registry attributes the sample traffic to example units until the city's own is configured.
  CITYSOC_UNITS_FILE: path.join(root, 'deploy', 'units.example.yml'),
  ...process.env,
  CITYSOC_DATA_DIR: dataDir,
  ...(firstStart ? { CITYSOC_ADMIN_TOKEN: adminToken } : {}),
};
const children = new Map<string, ChildProcess>();
let stopping = false;

function start(app: (typeof APPS)[number], attempt = 0): void {
  const out = createWriteStream(path.join(logDir, `${app}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [path.join(dist, 'apps', app, 'src', 'main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.set(app, child);
  const startedAt = Date.now();
  child.on('exit', (code, signal) => {
    children.delete(app);
    if (stopping) return;
    const next = Date.now() - startedAt > 30_000 ? 0 : attempt + 1;
    const delay = Math.min(30_000, 500 * 2 ** next);
    console.error(
      `[citysoc] ${app} exited (${signal ?? code}); restarting in ${delay} ms — see ${path.join(logDir, app + '.log')}`,
    );
    setTimeout(() => start(app, next), delay).unref();
  });
}

async function waitReady(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${apiPort}/health`);
      if (res.ok) return true;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

function waitPort(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const attempt = () => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => (Date.now() > deadline ? resolve(false) : setTimeout(attempt, 300)));
    };
    attempt();
  });
}

/** Sends the samples over TCP with RFC 6587 octet counting, as rsyslog and syslog-ng do. */
async function sendSamples(): Promise<number> {
  const now = new Date().toISOString();
  const lines = readFileSync(path.join(root, 'scripts', 'samples', 'syslog.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.replace('{{now}}', now));
  const payload = lines.map((l) => `${Buffer.byteLength(l)} ${l}`).join('');
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: syslogPort }, () => s.end(payload, () => resolve()));
    s.on('error', reject);
  });
  return lines.length;
}

/**
 * Sample flows over IPFIX, encoded as an exporter would (libs/drills' encoder): ordinary DNS and HTTPS, and a
 * camera-subnet host sweeping 120 TCP ports of one server, which rules/flow/port_scan.yml raises.
 */
async function sendSampleFlows(): Promise<number> {
  if (ipfixPort <= 0) return 0;
  const now = Date.now();
  const flow = (
    src: string,
    dst: string,
    sport: number,
    dport: number,
    proto: number,
    bytes: number,
  ): EncFlow => ({
    src,
    dst,
    sport,
    dport,
    proto,
    packets: Math.max(1, Math.round(bytes / 500)),
    bytes,
    startMs: now - 2_000,
    endMs: now - 1_000,
    tcpFlags: proto === 6 ? 0x1b : 0,
  });
  const flows: EncFlow[] = [
    flow('10.10.1.23', '10.10.0.53', 53001, 53, 17, 120),
    flow('10.10.1.23', '203.0.113.10', 40001, 443, 6, 48_000),
    flow('10.20.0.5', '10.10.0.53', 53002, 53, 17, 110),
  ];
  for (let port = 1; port <= 120; port++)
    flows.push({ ...flow('10.66.6.6', '10.20.0.15', 45000, port, 6, 44), tcpFlags: 0x02 });
  const exporter = new FlowExporter({ version: 'ipfix', domain: 1 });
  const socket = dgram.createSocket('udp4');
  try {
    for (const datagram of exporter.encode(flows, now))
      await new Promise<void>((resolve, reject) =>
        socket.send(datagram, ipfixPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
  } finally {
    socket.close();
  }
  return flows.length;
}

/**
 * A first console account, so that a newcomer can log in and triage right after the quick start. Lead is the
 * least role that can claim, close and bulk-close; the password is random, shown once and never stored in
 * clear (change it on the console's Account page, or POST /api/v1/auth/password).
 */
async function createFirstConsoleUser(
  base: string,
): Promise<{ username: string; password: string } | undefined> {
  const username = 'soc.lead';
  const password = randomBytes(18).toString('base64url');
  try {
    const res = await fetch(`${base}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username, password, role: 'lead' }),
    });
    if (res.ok) return { username, password };
    console.error(
      `[citysoc] could not create the first console user: HTTP ${res.status} ${await res.text()}`,
    );
  } catch (err) {
    console.error(`[citysoc] could not create the first console user: ${(err as Error).message}`);
  }
  return undefined;
}

async function main(): Promise<void> {
  for (const app of APPS) start(app);
  const up = (await waitPort(syslogPort, 60_000)) && (await waitReady(90_000));
  if (!up) {
    console.error(`[citysoc] the pipeline did not become ready; see ${logDir}`);
  } else {
    const n = await sendSamples();
    const flows = await sendSampleFlows();
    const base = `http://localhost:${apiPort}`;
    console.log(`
citysoc is running (data: ${dataDir}, logs: ${logDir})

  Console / API      ${base}/            OpenAPI: ${base}/api/docs
  Health / metrics   ${base}/health      ${base}/metrics
  Syslog             udp+tcp ${syslogPort} (send with: logger --tcp --octet-count --server 127.0.0.1 --port ${syslogPort} "hello")
  Sample traffic     ${n} syslog lines and ${flows} IPFIX flows sent; incidents appear at ${base}/api/v1/incidents
`);
    if (firstStart && !process.env.CITYSOC_ADMIN_TOKEN) {
      const user = await createFirstConsoleUser(base);
      if (user)
        console.log(
          `  Console login (first start, shown once): ${user.username} / ${user.password}   (role lead)\n`,
        );
      console.log(`  Admin token (first start, shown once; only its hash is stored):\n\n    ${adminToken}\n`);
      console.log(`  Try: curl -H "Authorization: Bearer ${adminToken}" ${base}/api/v1/incidents\n`);
    } else if (!firstStart) {
      console.log(
        '  Admin token: issued at first start (lost it? ./bin/citysoc token create --role admin)\n',
      );
    }
    console.log('Press Ctrl-C to stop.');
  }
}

function shutdown(): void {
  if (stopping) return;
  stopping = true;
  console.log('[citysoc] stopping…');
  for (const c of children.values()) c.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const c of children.values()) c.kill('SIGKILL');
    process.exit(0);
  }, 15_000);
  const check = setInterval(() => {
    if (children.size === 0) {
      clearInterval(check);
      clearTimeout(force);
      process.exit(0);
    }
  }, 200);
}

process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
void main();
