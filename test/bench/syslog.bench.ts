/**
 * Syslog ingest against rsyslog, the same load on the same machine in one run:
 *
 *   1. TCP: BENCH_MESSAGES (1,000,000) RFC 5424 messages of ~200 bytes, octet-counted, over BENCH_CONNECTIONS
 *      (4) connections. citysoc: collector (BENCH_WORKERS processes, default 1, each with BENCH_PARSE_THREADS
 *      parse threads, default 1 — the collector's defaults on a 2-core box) → parsed, normalized, published to
 *      JetStream; the clock stops when JetStream has acknowledged (stored) the last one.
 *      rsyslog (apt), twice: "tuned" (imtcp → JSON template → omfile with a 2-thread main queue, async
 *      buffered writing: rsyslog at its best) and "debian-default" (the same inputs and JSON template with
 *      Debian's out-of-the-box queue and omfile settings); the clock stops when the last line is in the file.
 *   2. UDP: BENCH_UDP_SECONDS (2) of datagrams at each of BENCH_UDP_RATES (50000,100000) msgs/s; loss is
 *      sent − stored (JetStream) or sent − written (rsyslog's file). rsyslog's tuned run forces a 32 MiB
 *      receive buffer (SO_RCVBUFFORCE); the collector asks for 32 MiB too, which Linux caps at
 *      net.core.rmem_max. Run as root, the bench raises rmem_max to 32 MiB for the run and restores it
 *      afterwards (BENCH_RAISE_RMEM_MAX=0 to leave it); otherwise it says the UDP comparison is unequal.
 *
 * Prints the rates, both ratios, the UDP loss of all, and the CPU seconds of nats-server during the TCP
 * phase (it shares the cores). Runs the built collector as a child process on an isolated stream prefix and
 * rsyslog with its own config in a temporary directory; cleans up after itself.
 *
 *   npm run bench:syslog       (BENCH_MESSAGES=200000 for a quicker run)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { JetStreamPublisher } from '@citysoc/bus';
import {
  cleanupStreams,
  countEvents,
  freePort,
  repoRoot,
  rsyslogdPath,
  uniquePrefix,
  waitFor,
} from '../support';

const N = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
/** Parse threads per collector process (CITYSOC_SYSLOG_PARSE_THREADS); 0 = parse on the main thread. */
const PARSE_THREADS = Number(process.env.BENCH_PARSE_THREADS ?? 1);
/** The UDP receive buffer both receivers ask for (rsyslog forces it; the collector gets min(it, rmem_max)). */
const UDP_RCVBUF = 32 * 1024 * 1024;
const RMEM_MAX = '/proc/sys/net/core/rmem_max';
const UDP_RATES = (process.env.BENCH_UDP_RATES ?? '50000,100000').split(',').map(Number);
const UDP_SECONDS = Number(process.env.BENCH_UDP_SECONDS ?? 2);
/** Events in flight to JetStream before TCP reads pause; the ack latency of a busy NATS needs a deep window. */
const MAX_INFLIGHT = Number(process.env.BENCH_MAX_INFLIGHT ?? 50_000);
/** The collector's batching (CITYSOC_SYSLOG_BATCH_EVENTS / _MS); BENCH_BATCH_EVENTS=1 measures one event per message. */
const BATCH_EVENTS = Number(process.env.BENCH_BATCH_EVENTS ?? 256);
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 20);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 900) * 1000;
const NATS_URL = process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222';
/** Extra node flags for the collector and its workers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
const COLLECTOR_NODE_ARGS = (process.env.BENCH_COLLECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** One RFC 5424 message of about 200 bytes; the sequence number makes every one distinct. */
function message(seq: number): string {
  const host = `web-${String(seq % 50).padStart(3, '0')}.hcm.gov.vn`;
  const base = `<134>1 2026-11-27T10:00:00.${String(seq % 1_000_000).padStart(6, '0')}+07:00 ${host} nginx ${1000 + (seq % 30000)} ACCESS [meta sequenceId="${seq}"] GET /portal/page-${seq}.html 200 5120 10.10.${(seq >> 8) & 255}.${seq & 255}`;
  return base.length < 200 ? base + ' ' + 'x'.repeat(199 - base.length) : base;
}

/** Octet-counted payload per connection, built once and sent to both receivers. */
function tcpPayloads(): Buffer[] {
  const per = Math.ceil(N / CONNECTIONS);
  const out: Buffer[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const parts: string[] = [];
    for (let i = c * per; i < Math.min(N, (c + 1) * per); i++) {
      const m = message(i);
      parts.push(`${Buffer.byteLength(m)} ${m}`);
    }
    out.push(Buffer.from(parts.join('')));
  }
  return out;
}

function sendTcp(port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      let off = 0;
      const pump = () => {
        while (off < payload.length) {
          const chunk = payload.subarray(off, off + 256 * 1024);
          off += chunk.length;
          if (!s.write(chunk)) {
            s.once('drain', pump);
            return;
          }
        }
        s.end();
      };
      pump();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

/** Paced UDP: every millisecond, send what the rate says should have gone by now. Returns what was sent. */
async function sendUdp(
  port: number,
  rate: number,
  seconds: number,
  seqBase: number,
): Promise<{ sent: number; achieved: number }> {
  const s = dgram.createSocket('udp4');
  const total = Math.round(rate * seconds);
  const datagrams: Buffer[] = [];
  for (let i = 0; i < Math.min(total, 10_000); i++) datagrams.push(Buffer.from(message(seqBase + i)));
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      let pending = 0;
      while (sent < due) {
        // Distinct content per datagram (the collector would deduplicate identical ones from one sender).
        const d = sent < datagrams.length ? datagrams[sent]! : Buffer.from(message(seqBase + sent));
        pending++;
        s.send(d, port, '127.0.0.1', () => {
          pending--;
        });
        sent++;
      }
      if (sent >= total) resolve();
      else setImmediate(tick);
      void pending;
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000;
  await new Promise<void>((r) => s.close(() => r()));
  return { sent, achieved: Math.round(sent / elapsed) };
}

/**
 * CPU seconds (user + system) used so far by a process and its descendants (the collector's cluster workers;
 * rsyslog's threads are in its own figure), from /proc. On a shared machine the wall-clock rate depends on
 * everyone else; messages per CPU second is the receiver's own cost. undefined where /proc is missing.
 */
function treeCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const tick = 100; // USER_HZ: 100 on every Linux architecture Node supports
  let total = 0;
  const visit = (p: number): boolean => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      return false;
    }
    // Fields after the command (which may hold spaces) in parentheses; utime and stime are the 14th and 15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(f[11]) + Number(f[12])) / tick;
    let children = '';
    try {
      children = readdirSync(`/proc/${p}/task`)
        .map((t) => readFileSync(`/proc/${p}/task/${t}/children`, 'utf8'))
        .join(' ');
    } catch {
      // a thread that ended between the listing and the read
    }
    for (const c of children.split(/\s+/).filter(Boolean)) visit(Number(c));
    return true;
  };
  return visit(pid) ? total : undefined;
}

/** CPU seconds used so far by every nats-server process (by /proc comm); undefined when none is found. */
function natsServerCpuSeconds(): number | undefined {
  let total: number | undefined;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm !== 'nats-server') continue;
    const cpu = treeCpuSeconds(Number(p));
    if (cpu !== undefined) total = (total ?? 0) + cpu;
  }
  return total;
}

/**
 * UDP at equal footing: rsyslog forces its 32 MiB receive buffer past net.core.rmem_max (SO_RCVBUFFORCE,
 * root only); Node's setRecvBufferSize cannot, so the collector gets rmem_max at most. As root (and unless
 * BENCH_RAISE_RMEM_MAX=0) rmem_max is raised to the same 32 MiB for the run; `restore` puts it back.
 */
function equalUdpBuffers(): { note: string; restore: () => void } {
  let old: number;
  try {
    old = Number(readFileSync(RMEM_MAX, 'utf8').trim());
  } catch {
    return {
      note: `unequal: ${RMEM_MAX} is not readable; rsyslog forces 32 MiB, the collector gets the kernel's cap`,
      restore: () => undefined,
    };
  }
  const collectorGets = Math.min(old, UDP_RCVBUF);
  if (old >= UDP_RCVBUF)
    return {
      note: `equal: net.core.rmem_max is ${old}, both receivers get a 32 MiB buffer`,
      restore: () => undefined,
    };
  const unequal = `unequal: rsyslog forces a 32 MiB receive buffer, the collector gets net.core.rmem_max = ${collectorGets} bytes`;
  if (process.env.BENCH_RAISE_RMEM_MAX === '0')
    return { note: `${unequal} (BENCH_RAISE_RMEM_MAX=0)`, restore: () => undefined };
  if (process.getuid?.() !== 0)
    return { note: `${unequal} (run as root to raise it for the run)`, restore: () => undefined };
  try {
    writeFileSync(RMEM_MAX, String(UDP_RCVBUF));
  } catch (err) {
    return { note: `${unequal} (raising it failed: ${String(err)})`, restore: () => undefined };
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    writeFileSync(RMEM_MAX, String(old));
    console.error(`[bench:syslog] net.core.rmem_max restored to ${old}`);
  };
  console.error(`[bench:syslog] net.core.rmem_max raised from ${old} to ${UDP_RCVBUF} for the run`);
  return {
    note: `equal: net.core.rmem_max raised from ${old} to ${UDP_RCVBUF} for the run (restored afterwards), both receivers get 32 MiB`,
    restore,
  };
}

function perCpuSecond(messages: number, before?: number, after?: number): number | undefined {
  return before === undefined || after === undefined || after <= before
    ? undefined
    : Math.round(messages / (after - before));
}

/** Waits until `count()` stops moving for `quietMs`; returns the last value. */
async function settle(count: () => Promise<number> | number, quietMs = 3000): Promise<number> {
  let last = await count();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
  }
}

/**
 * The ceiling JetStream itself sets here and now, in events per second: messages of the collector's average
 * size (a batch of its average event count), published with message ids from one process through the same
 * publisher, nothing else done. Tells how much of the gap to rsyslog (which only appends to a file) is the
 * store's acknowledged write.
 */
async function jetstreamCeiling(
  nc: NatsConnection,
  bytes: number,
  eventsPerMessage: number,
  events: number,
): Promise<number> {
  const n = Math.max(1, Math.round(events / eventsPerMessage));
  const jsm = await nc.jetstreamManager();
  const name = `${uniquePrefix()}CEILING`;
  await jsm.streams.add({ name, subjects: [`${name}.>`], duplicate_window: 600e9 });
  const publisher = new JetStreamPublisher(nc);
  const data = Buffer.alloc(bytes, 0x78);
  try {
    const t0 = performance.now();
    let batch: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) {
      batch.push(publisher.publish({ subject: `${name}.x`, data, msgId: `c${i}` }));
      if (batch.length >= MAX_INFLIGHT) {
        await Promise.all(batch);
        batch = [];
      }
    }
    await Promise.all(batch);
    return Math.round((n * eventsPerMessage) / ((performance.now() - t0) / 1000));
  } finally {
    publisher.close();
    await jsm.streams.delete(name);
  }
}

interface Result {
  tcp_messages_per_second: number;
  /** Messages per CPU second of the receiver (all its processes and threads): robust to a loaded machine. */
  tcp_messages_per_cpu_second?: number;
  tcp_cpu_seconds?: number;
  tcp_seconds: number;
  tcp_stored: number;
  /**
   * CPU seconds every nats-server on the machine used during the TCP phase: the store shares the two cores
   * with the collector (other users of a shared server count too, so it is an upper bound).
   */
  nats_server_cpu_seconds?: number;
  average_stored_bytes?: number;
  average_events_per_message?: number;
  batch_events?: number;
  batch_ms?: number;
  jetstream_publish_ceiling_per_second?: number;
  udp: Array<{
    rate: number;
    achieved_send_rate: number;
    sent: number;
    stored: number;
    lost: number;
    loss_percent: number;
  }>;
}

async function benchCollector(payloads: Buffer[]): Promise<Result> {
  const prefix = uniquePrefix();
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [...COLLECTOR_NODE_ARGS, path.join(repoRoot(), 'dist', 'apps', 'collector', 'src', 'main.js')],
    {
      env: {
        ...process.env,
        CITYSOC_STREAM_PREFIX: prefix,
        CITYSOC_SYSLOG_HOST: '127.0.0.1',
        CITYSOC_SYSLOG_UDP_PORT: String(port),
        CITYSOC_SYSLOG_TCP_PORT: String(port),
        CITYSOC_SYSLOG_TLS_PORT: '-1',
        CITYSOC_COLLECTOR_METRICS_PORT: '-1',
        CITYSOC_COLLECTOR_WORKERS: String(WORKERS),
        CITYSOC_SYSLOG_PARSE_THREADS: String(PARSE_THREADS),
        CITYSOC_COLLECTOR_MAX_INFLIGHT: String(MAX_INFLIGHT),
        CITYSOC_SYSLOG_BATCH_EVENTS: String(BATCH_EVENTS),
        CITYSOC_SYSLOG_BATCH_MS: String(BATCH_MS),
        CITYSOC_COLLECTOR_UDP_MAX_BACKLOG: String(MAX_INFLIGHT),
        CITYSOC_SYSLOG_SILENT_SECONDS: '0',
        CITYSOC_SYSLOG_UDP_RCVBUF: String(UDP_RCVBUF),
        // JetStream reserves a stream's max_bytes up front; the default 10 GiB would crowd a shared server.
        CITYSOC_EVENTS_MAX_BYTES: String(Math.max(512 * 1024 ** 2, N * 4096)),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  const nc = await connect({ servers: NATS_URL });
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`collector exited:\n${log.slice(-2000)}`);
        return (log.match(/collector started/g) ?? []).length >= WORKERS;
      },
      'the collector workers',
      60_000,
    );
    const jsm = await nc.jetstreamManager();
    // Events, not messages: the collector publishes batches (JSON arrays) and says how many in a header.
    const stored = () => countEvents(`${prefix}EVENTS`);

    const cpu0 = treeCpuSeconds(child.pid);
    const nats0 = natsServerCpuSeconds();
    const t0 = performance.now();
    const sending = Promise.all(payloads.map((p) => sendTcp(port, p)));
    await waitFor(async () => (await stored()) >= N, `${N} events in JetStream`, TIMEOUT_MS);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = treeCpuSeconds(child.pid);
    const nats1 = natsServerCpuSeconds();
    await sending;
    const tcpStored = await stored();
    const info = await jsm.streams.info(`${prefix}EVENTS`);
    const perMessage = tcpStored / Math.max(1, info.state.messages);
    const avgBytes = Math.round(info.state.bytes / Math.max(1, tcpStored));

    const udp: Result['udp'] = [];
    let seq = N;
    for (const rate of UDP_RATES) {
      const before = await stored();
      const { sent, achieved } = await sendUdp(port, rate, UDP_SECONDS, seq);
      seq += sent;
      const after = await settle(stored);
      const got = after - before;
      udp.push({
        rate,
        achieved_send_rate: achieved,
        sent,
        stored: got,
        lost: sent - got,
        loss_percent: round2((100 * (sent - got)) / sent),
      });
    }
    // The collector is stopped first so the ceiling is measured on the same NATS without competition.
    child.kill('SIGTERM');
    await exited(child);
    const ceiling = await jetstreamCeiling(
      nc,
      Math.round(avgBytes * perMessage),
      Math.max(1, Math.round(perMessage)),
      Math.min(N, 100_000),
    );
    return {
      tcp_messages_per_second: Math.round(N / seconds),
      tcp_messages_per_cpu_second: perCpuSecond(N, cpu0, cpu1),
      tcp_cpu_seconds: cpu0 !== undefined && cpu1 !== undefined ? round2(cpu1 - cpu0) : undefined,
      tcp_seconds: round2(seconds),
      tcp_stored: tcpStored,
      nats_server_cpu_seconds: nats0 !== undefined && nats1 !== undefined ? round2(nats1 - nats0) : undefined,
      average_stored_bytes: avgBytes,
      average_events_per_message: round2(perMessage),
      batch_events: BATCH_EVENTS,
      batch_ms: BATCH_MS,
      jetstream_publish_ceiling_per_second: ceiling,
      udp,
    };
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    await nc.close();
    await cleanupStreams(prefix).catch(() => undefined);
  }
}

/** Counts lines of a growing file incrementally (only the new bytes are read each time). */
function lineCounter(file: string): () => number {
  let offset = 0;
  let lines = 0;
  const buf = Buffer.alloc(4 * 1024 * 1024);
  return () => {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return lines;
    }
    if (size <= offset) return lines;
    const fd = openSync(file, 'r');
    try {
      while (offset < size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
        if (n <= 0) break;
        for (let i = buf.indexOf(0x0a, 0); i !== -1 && i < n; i = buf.indexOf(0x0a, i + 1)) lines++;
        offset += n;
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  };
}

type RsyslogSetup = 'tuned' | 'debian-default';

/**
 * rsyslog's configuration for the job. "tuned": a 2-thread main queue with big dequeue batches, omfile
 * writing asynchronously in 1 MiB blocks, a forced 32 MiB UDP buffer — rsyslog at its best. "debian-default":
 * what Debian's /etc/rsyslog.conf gives once imtcp/imudp are enabled and an omfile action with the same
 * JSON template is added: default main queue (one worker), default omfile (synchronous, flushed at the end
 * of each batch), imudp with the kernel's default buffer. Both write the same JSON lines.
 */
function rsyslogConf(setup: RsyslogSetup, dir: string, port: number, tcpOut: string, udpOut: string): string {
  const tuned = setup === 'tuned';
  const globals = tuned
    ? `global(workDirectory="${dir}" maxMessageSize="64k")
main_queue(queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="1024" queue.workerThreads="2")
module(load="imtcp" maxSessions="200")
module(load="imudp" threads="2")`
    : `global(workDirectory="${dir}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")`;
  const omfile = tuned ? ` asyncWriting="on" ioBufferSize="1m" flushOnTXEnd="off" flushInterval="1"` : '';
  const rcvbuf = tuned ? ` rcvbufSize="32m"` : '';
  return `${globals}
template(name="json" type="list" option.jsonf="on") {
  property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="severity" name="syslogseverity-text" format="jsonf")
  property(outname="facility" name="syslogfacility-text" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="structured_data" name="structured-data" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
}
ruleset(name="tcp") { action(type="omfile" file="${tcpOut}" template="json"${omfile}) }
ruleset(name="udp") { action(type="omfile" file="${udpOut}" template="json"${omfile}) }
input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="tcp")
input(type="imudp" address="127.0.0.1" port="${port}" ruleset="udp"${rcvbuf})
`;
}

async function benchRsyslog(payloads: Buffer[], setup: RsyslogSetup): Promise<Result | { skipped: string }> {
  const bin = rsyslogdPath();
  if (!bin) return { skipped: 'rsyslogd is not installed (bash scripts/ensure-peers.sh)' };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-bench-rsyslog-'));
  const port = await freePort();
  const tcpOut = path.join(dir, 'tcp.json');
  const udpOut = path.join(dir, 'udp.json');
  writeFileSync(path.join(dir, 'rsyslog.conf'), rsyslogConf(setup, dir, port, tcpOut, udpOut));
  const child = spawn(bin, ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  try {
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (child.exitCode !== null) throw new Error(`rsyslogd exited:\n${log}`);
          const s = net.connect({ host: '127.0.0.1', port }, () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      'rsyslog listening',
      30_000,
    );
    const tcpLines = lineCounter(tcpOut);
    const nats0 = natsServerCpuSeconds();
    const cpu0 = treeCpuSeconds(child.pid);
    const t0 = performance.now();
    const sending = Promise.all(payloads.map((p) => sendTcp(port, p)));
    await waitFor(() => tcpLines() >= N, `${N} lines in rsyslog's file`, TIMEOUT_MS);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = treeCpuSeconds(child.pid);
    const nats1 = natsServerCpuSeconds();
    await sending;

    const udpLines = lineCounter(udpOut);
    const udp: Result['udp'] = [];
    let seq = N;
    for (const rate of UDP_RATES) {
      const before = await settle(udpLines, 1000);
      const { sent, achieved } = await sendUdp(port, rate, UDP_SECONDS, seq);
      seq += sent;
      const got = (await settle(udpLines)) - before;
      udp.push({
        rate,
        achieved_send_rate: achieved,
        sent,
        stored: got,
        lost: sent - got,
        loss_percent: round2((100 * (sent - got)) / sent),
      });
    }
    return {
      tcp_messages_per_second: Math.round(N / seconds),
      tcp_messages_per_cpu_second: perCpuSecond(N, cpu0, cpu1),
      tcp_cpu_seconds: cpu0 !== undefined && cpu1 !== undefined ? round2(cpu1 - cpu0) : undefined,
      tcp_seconds: round2(seconds),
      tcp_stored: tcpLines(),
      // nats-server has no part in rsyslog's run: what it used meanwhile is the machine's other load.
      nats_server_cpu_seconds: nats0 !== undefined && nats1 !== undefined ? round2(nats1 - nats0) : undefined,
      udp,
    };
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A child killed by a signal has signalCode set and exitCode null; either means it is gone. */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function ratios(
  citysoc: Result,
  rsyslog: Result | { skipped: string },
): { wall_clock: number | null; per_cpu_second: number | null } {
  if (!('tcp_messages_per_second' in rsyslog)) return { wall_clock: null, per_cpu_second: null };
  return {
    wall_clock: round2(citysoc.tcp_messages_per_second / rsyslog.tcp_messages_per_second),
    per_cpu_second:
      rsyslog.tcp_messages_per_cpu_second !== undefined && citysoc.tcp_messages_per_cpu_second !== undefined
        ? round2(citysoc.tcp_messages_per_cpu_second / rsyslog.tcp_messages_per_cpu_second)
        : null,
  };
}

async function main(): Promise<void> {
  const loadAtStart = round2(os.loadavg()[0]!);
  const payloads = tcpPayloads();
  const bytes = payloads.reduce((a, p) => a + p.length, 0);
  console.error(
    `[bench:syslog] ${N} messages, ${(bytes / N).toFixed(0)} bytes each on the wire, ${CONNECTIONS} connections, ${WORKERS} collector process(es) × ${PARSE_THREADS} parse thread(s)`,
  );
  const udpBuffers = equalUdpBuffers();
  const restore = () => udpBuffers.restore();
  process.once('SIGINT', () => {
    restore();
    process.exit(130);
  });
  console.error(`[bench:syslog] UDP receive buffers: ${udpBuffers.note}`);
  let citysoc: Result;
  let tuned: Result | { skipped: string };
  let debian: Result | { skipped: string };
  try {
    console.error('[bench:syslog] citysoc collector → JetStream …');
    citysoc = await benchCollector(payloads);
    console.error('[bench:syslog] rsyslog (tuned) → JSON file …');
    tuned = await benchRsyslog(payloads, 'tuned');
    console.error('[bench:syslog] rsyslog (Debian defaults) → JSON file …');
    debian = await benchRsyslog(payloads, 'debian-default');
  } finally {
    restore();
  }
  const vsTuned = ratios(citysoc, tuned);
  const vsDebian = ratios(citysoc, debian);
  console.log(
    JSON.stringify(
      {
        messages: N,
        connections: CONNECTIONS,
        collector_workers: WORKERS,
        collector_parse_threads: PARSE_THREADS,
        collector_max_inflight: MAX_INFLIGHT,
        cores: os.availableParallelism(),
        load_average_1m_at_start: loadAtStart,
        load_average_1m: round2(os.loadavg()[0]!),
        udp_receive_buffers: udpBuffers.note,
        citysoc,
        rsyslog_tuned: tuned,
        rsyslog_debian_default: debian,
        tcp_ratio_citysoc_to_rsyslog_tuned: vsTuned.wall_clock,
        tcp_per_cpu_second_ratio_citysoc_to_rsyslog_tuned: vsTuned.per_cpu_second,
        tcp_ratio_citysoc_to_rsyslog_debian_default: vsDebian.wall_clock,
        tcp_per_cpu_second_ratio_citysoc_to_rsyslog_debian_default: vsDebian.per_cpu_second,
        node: process.version,
      },
      null,
      2,
    ),
  );
  const rate = (r: Result | { skipped: string }) =>
    'tcp_messages_per_second' in r
      ? `${r.tcp_messages_per_second} msgs/s (${r.tcp_messages_per_cpu_second ?? '?'} per CPU-second)`
      : r.skipped;
  console.error(`[bench:syslog] citysoc                 ${rate(citysoc)}`);
  console.error(
    `[bench:syslog] rsyslog tuned           ${rate(tuned)}  ratio ${vsTuned.wall_clock} (per CPU-second ${vsTuned.per_cpu_second})`,
  );
  console.error(
    `[bench:syslog] rsyslog Debian defaults ${rate(debian)}  ratio ${vsDebian.wall_clock} (per CPU-second ${vsDebian.per_cpu_second})`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
