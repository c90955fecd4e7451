/**
 * The one-machine supervisor behind `npm start`: runs every app as its own process (as in production),
 * restarts any that dies, sends a few sample syslog lines once the pipeline is up, and prints where to go.
 * Logs go to data/logs/<app>.log so the terminal stays readable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const dist = path.resolve(__dirname, '..');
const dataDir = path.resolve(process.env.CITYSOC_DATA_DIR ?? path.join(root, 'data'));
const logDir = path.join(dataDir, 'logs');
const apiPort = Number(process.env.CITYSOC_API_PORT ?? 3000);
const syslogPort = Number(process.env.CITYSOC_SYSLOG_TCP_PORT ?? 5514);
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

async function main(): Promise<void> {
  for (const app of APPS) start(app);
  const up = (await waitPort(syslogPort, 60_000)) && (await waitReady(90_000));
  if (!up) {
    console.error(`[citysoc] the pipeline did not become ready; see ${logDir}`);
  } else {
    const n = await sendSamples();
    const base = `http://localhost:${apiPort}`;
    console.log(`
citysoc is running (data: ${dataDir}, logs: ${logDir})

  Console / API      ${base}/            OpenAPI: ${base}/api/docs
  Health / metrics   ${base}/health      ${base}/metrics
  Syslog             udp+tcp ${syslogPort} (send with: logger --tcp --octet-count --server 127.0.0.1 --port ${syslogPort} "hello")
  Sample traffic     ${n} lines sent; incidents appear at ${base}/api/v1/incidents
`);
    if (firstStart && !process.env.CITYSOC_ADMIN_TOKEN) {
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
