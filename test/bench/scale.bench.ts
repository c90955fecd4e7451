/**
 * Scaling benchmark (issue 11): how throughput changes with 1, 2 and 4 detector processes and with 1 and 2
 * collector processes, each stage measured on its own so one stage's limit does not hide another's.
 *
 *  - collector: N collector processes (each on its own port, like behind a load balancer) take the same
 *    octet-counted TCP stream; measured until EVENTS holds every event.
 *  - detector: EVENTS is filled first; then N detector processes share one durable consumer; measured
 *    until the consumer has nothing pending or unacknowledged.
 *
 * Besides wall-clock events/s, each run reports events per CPU-second of the measured processes (user +
 * system time from /proc, counted from "started" to done, so start-up is excluded): on a shared machine
 * that figure is the one to compare, since wall-clock throughput depends on what else runs.
 *
 *   npm run bench:scale     (BENCH_SCALE_EVENTS=40000 to change the load)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { countEvents, freePort, octetCount, Pipeline, repoRoot, waitFor } from '../support';

const TOTAL = Number(process.env.BENCH_SCALE_EVENTS ?? 40_000);
const CONNECTIONS = 4;

function send(port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(payload));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

function payloads(): Buffer[] {
  const base = Date.now();
  const per = Math.ceil(TOTAL / CONNECTIONS);
  return Array.from({ length: CONNECTIONS }, (_, c) => {
    const lines: string[] = [];
    for (let i = 0; i < per && c * per + i < TOTAL; i++) {
      const n = c * per + i;
      const msg =
        n % 10 === 0
          ? `Failed password for invalid user u${n} from 198.51.100.${n % 250} port ${1024 + (n % 60000)} ssh2`
          : `pam_unix(sshd:session): session opened for user u${n} by (uid=0)`;
      lines.push(`<38>1 ${new Date(base + n).toISOString()} ward-${c}.hanoi.gov.vn sshd ${n} - - ${msg}`);
    }
    return octetCount(lines);
  });
}

// Syslog only: the flow listeners' fixed ports would collide between collector processes.
const NO_FLOW = { CITYSOC_FLOW_NETFLOW_PORT: '-1', CITYSOC_FLOW_IPFIX_PORT: '-1' };

const natsUrl = process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Events, not messages: the collector batches syslog events into JSON-array messages. */
const streamEvents = (stream: string): Promise<number> => countEvents(stream);

async function consumerDone(stream: string, durable: string): Promise<boolean> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.consumers.info(stream, durable);
    // Messages, not events (syslog events travel in batches): done when the last message is delivered.
    const last = (await jsm.streams.info(stream)).state.last_seq;
    return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= last;
  } finally {
    await nc.close();
  }
}

/** Extra processes of one app beside the pipeline's own, same prefix and settings. */
function spawnExtra(pipeline: Pipeline, app: string, env: Record<string, string>, ready: string) {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'apps', app, 'src', 'main.js')], {
    env: { ...pipeline.env(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = new Promise<void>((resolve, reject) => {
    let out = '';
    const on = (b: Buffer) => {
      out += b.toString('utf8');
      if (out.includes(ready)) resolve();
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => reject(new Error(`${app} exited (${code}): ${out.slice(-2000)}`)));
  });
  return { child, started };
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

const totalCpu = (children: ChildProcess[]) => children.reduce((a, c) => a + cpuSeconds(c), 0);

interface Run {
  eventsPerSecond: number;
  eventsPerCpuSecond: number;
  cpuSeconds: number;
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGTERM');
        }),
    ),
  );
}

async function collectorRun(n: number): Promise<Run> {
  // No app of the pipeline's own: every collector is spawned here, so its CPU time can be read.
  const pipeline = new Pipeline({ apps: [], env: NO_FLOW });
  await pipeline.start();
  const extras: ChildProcess[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const e = spawnExtra(
        pipeline,
        'collector',
        { CITYSOC_SYSLOG_TCP_PORT: String(port), CITYSOC_SYSLOG_UDP_PORT: String(port) },
        'collector started',
      );
      extras.push(e.child);
      await e.started;
      ports.push(port);
    }
    const data = payloads();
    const cpu0 = totalCpu(extras);
    const t0 = process.hrtime.bigint();
    await Promise.all(data.map((p, i) => send(ports[i % ports.length]!, p)));
    await waitFor(
      async () => (await streamEvents(`${pipeline.prefix}EVENTS`)) >= TOTAL,
      'EVENTS full',
      900_000,
    );
    return result(t0, totalCpu(extras) - cpu0);
  } finally {
    await stopAll(extras);
    await pipeline.stop();
  }
}

function result(t0: bigint, cpu: number): Run {
  return {
    eventsPerSecond: Math.round(TOTAL / (Number(process.hrtime.bigint() - t0) / 1e9)),
    eventsPerCpuSecond: Math.round(TOTAL / cpu),
    cpuSeconds: Math.round(cpu * 10) / 10,
  };
}

async function detectorRun(n: number): Promise<Run & { withStartUp: number }> {
  const pipeline = new Pipeline({ apps: ['collector'], env: NO_FLOW });
  await pipeline.start();
  const extras: ChildProcess[] = [];
  try {
    await Promise.all(payloads().map((p) => send(pipeline.syslogPort, p)));
    await waitFor(
      async () => (await streamEvents(`${pipeline.prefix}EVENTS`)) >= TOTAL,
      'EVENTS full',
      900_000,
    );
    await pipeline.kill('collector');
    const t0 = process.hrtime.bigint();
    // Started together so no one process gets a head start on the backlog.
    const started = Array.from({ length: n }, () => spawnExtra(pipeline, 'detector', {}, 'detector started'));
    extras.push(...started.map((s) => s.child));
    await Promise.all(started.map((s) => s.started));
    // Rule compilation is start-up: CPU counts from "started"; wall clock is given both ways.
    const cpu0 = totalCpu(extras);
    const t1 = process.hrtime.bigint();
    await waitFor(
      () => consumerDone(`${pipeline.prefix}EVENTS`, `${pipeline.prefix}detector`),
      'detectors done',
      900_000,
    );
    const cpu = totalCpu(extras) - cpu0;
    return {
      ...result(t1, cpu),
      withStartUp: Math.round(TOTAL / (Number(process.hrtime.bigint() - t0) / 1e9)),
    };
  } finally {
    await stopAll(extras);
    await pipeline.stop();
  }
}

async function main(): Promise<void> {
  const load = os.loadavg()[0]!;
  const results: Record<string, Run> = {};
  for (const n of [1, 2]) results[`collector x${n}`] = await collectorRun(n);
  for (const n of [1, 2, 4]) results[`detector x${n}`] = await detectorRun(n);
  console.log(
    JSON.stringify(
      {
        machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
        load_average_at_start: load.toFixed(2),
        load_average_at_end: os.loadavg()[0]!.toFixed(2),
        events: TOTAL,
        runs: results,
        note: 'events/s and CPU time from "started" to done; detector withStartUp: events/s including process start-up (rule compilation); CPU of NATS and of the sender is not counted',
      },
      null,
      2,
    ),
  );
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
