/**
 * The collector's own cost per message, without NATS: the real TCP and UDP listeners on loopback feed the
 * real ingest path (framing, event id, parsing, units, drill marking, JSON, batching) whose publisher stores
 * nothing and acknowledges on the next turn of the event loop. One process: with BENCH_PARSE_THREADS=0 one
 * core, what one collector worker can do at most, and a place to profile it
 * (`node --cpu-prof dist/test/bench/syslog-ingest.bench.js`); with N parse threads (default 1, the
 * collector's default) the main thread keeps I/O and batching and the threads parse.
 *
 *   npm run bench:syslog-ingest     (BENCH_MESSAGES=300000, BENCH_UDP_RATE=50000, BENCH_PARSE_THREADS=1)
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { busNames, type JetStreamPublisher, type Logger, type OutMessage } from '@citysoc/bus';
import { ComponentMetrics } from '@citysoc/observability';
import { Inflight } from '../../apps/collector/src/pipeline/inflight';
import { SyslogIngest } from '../../apps/collector/src/pipeline/ingest';
import { ParsePool, runLimits } from '../../apps/collector/src/pipeline/parse-pool';
import { SyslogTcpSource } from '../../apps/collector/src/sources/syslog/tcp.source';
import { SyslogUdpSource } from '../../apps/collector/src/sources/syslog/udp.source';
import { EVENT_COUNT_HEADER } from '../../apps/collector/src/pipeline/batcher';

const N = Number(process.env.BENCH_MESSAGES ?? 300_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2);
const UDP_RATE = Number(process.env.BENCH_UDP_RATE ?? 50_000);
const UDP_SECONDS = Number(process.env.BENCH_UDP_SECONDS ?? 2);
const THREADS = Number(process.env.BENCH_PARSE_THREADS ?? 1);
const BATCH = { events: 256, ms: 20, bytes: 512 * 1024 };

/** The same ~200-byte RFC 5424 message as bench:syslog. */
function message(seq: number): string {
  const host = `web-${String(seq % 50).padStart(3, '0')}.hcm.gov.vn`;
  const base = `<134>1 2026-11-27T10:00:00.${String(seq % 1_000_000).padStart(6, '0')}+07:00 ${host} nginx ${1000 + (seq % 30000)} ACCESS [meta sequenceId="${seq}"] GET /portal/page-${seq}.html 200 5120 10.10.${(seq >> 8) & 255}.${seq & 255}`;
  return base.length < 200 ? base + ' ' + 'x'.repeat(199 - base.length) : base;
}

/** Counts stored events; acknowledges on the next turn like a fast local JetStream would. */
class NullPublisher {
  events = 0;
  messages = 0;
  publish(m: OutMessage): Promise<unknown> {
    this.messages++;
    this.events += Number(m.headers?.[EVENT_COUNT_HEADER] ?? 1);
    return new Promise((r) => setImmediate(r));
  }
}

const quiet: Logger = { log: () => undefined, warn: () => undefined, error: console.error };

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function main(): Promise<void> {
  const publisher = new NullPublisher();
  const metrics = new ComponentMetrics('collector');
  const pool = THREADS > 0 ? new ParsePool({ threads: THREADS, ...runLimits(BATCH) }) : undefined;
  const ingest = new SyslogIngest(
    publisher as unknown as JetStreamPublisher,
    busNames('BENCH_'),
    metrics,
    'Asia/Ho_Chi_Minh',
    undefined,
    undefined,
    undefined,
    0,
    BATCH,
    pool,
  );
  const inflight = new Inflight(50_000);
  const tcp = new SyslogTcpSource(
    { host: '127.0.0.1', port: 0, maxFrameBytes: 64 * 1024, maxConnections: 100, idleSeconds: 60 },
    ingest,
    inflight,
    metrics,
    quiet,
  );
  const udp = new SyslogUdpSource(
    { host: '127.0.0.1', port: 0, recvBufferBytes: 32 * 1024 * 1024, maxBacklog: 50_000 },
    ingest,
    inflight,
    metrics,
    quiet,
  );
  const tcpPort = await tcp.start();
  const udpPort = await udp.start();

  const per = Math.ceil(N / CONNECTIONS);
  const payloads: Buffer[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const parts: string[] = [];
    for (let i = c * per; i < Math.min(N, (c + 1) * per); i++) {
      const m = message(i);
      parts.push(`${Buffer.byteLength(m)} ${m}`);
    }
    payloads.push(Buffer.from(parts.join('')));
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const p of payloads) {
    const s = net.connect({ host: '127.0.0.1', port: tcpPort }, () => s.end(p));
    s.on('error', (e) => console.error(e));
  }
  await until(() => publisher.events >= N, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // process.cpuUsage covers every thread of the process, the parse threads included.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;

  // UDP: paced from this same process, so the sender's own cost is on the core too (as a lower bound).
  const before = publisher.events;
  const s = dgram.createSocket('udp4');
  const total = Math.round(UDP_RATE * UDP_SECONDS);
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * UDP_RATE));
      while (sent < due) s.send(message(N + sent++), udpPort, '127.0.0.1');
      if (sent >= total) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  await until(() => publisher.events - before >= sent, 3000);
  const got = publisher.events - before;
  s.close();
  await tcp.stop();
  await udp.stop();
  await ingest.flush();
  await pool?.close();
  console.log(
    JSON.stringify(
      {
        tcp_messages: N,
        parse_threads: THREADS,
        tcp_messages_per_second: Math.round(N / seconds),
        tcp_messages_per_cpu_second: Math.round(N / cpuSeconds),
        events_per_message: Math.round((100 * publisher.events) / publisher.messages) / 100,
        udp_rate: UDP_RATE,
        udp_sent: sent,
        udp_stored: got,
        udp_loss_percent: Math.round((10000 * (sent - got)) / sent) / 100,
        node: process.version,
      },
      null,
      2,
    ),
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
