/**
 * Flow benchmark (issue 5 item 9), on replayed real datagrams (softflowd's export of the flow corpus pcap):
 *   (a) decoder alone: records per CPU-second (user + system of this process), templates known;
 *   (a4) the same with every address distinct (the replay names only 17 addresses);
 *   (a') the collector's CPU path without NATS: decode → ECS → JSON message body, records per CPU-second;
 *   (b) end to end: UDP → collector (real process) → decode → ECS → JetStream EVENTS, records/s with loss
 *       accounting (kernel drops, backpressure discards, datagrams never stored);
 *   (c) nfcapd (Debian nfdump) fed the same datagrams in the same run: records per CPU-second of the nfcapd
 *       process, and the ratio (a) / (c);
 *   (t) the transport floor: the same records' message bodies, rendered beforehand, published to JetStream
 *       at the (b) rate by the collector's publisher, with no UDP, decoding or rendering: the CPU that
 *       publishing and storing alone cost (this process and nats-server), i.e. what is left of two cores
 *       for everything else at that rate.
 * The replayed IPFIX datagrams get a fresh header sequence number per copy, so every record has its own id
 * (JetStream would otherwise deduplicate the replays).
 *
 *   npm run bench:flow     (BENCH_FLOW_RECORDS=500000 BENCH_FLOW_RATE=250000 records/s, 0 = unpaced)
 */
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { openBus } from '@citysoc/bus';
import { dataOnlyDomain, decodeDatagram, MemoryTemplateCache } from '@citysoc/flow';
import { batchMessage, EventBatcher } from '../../apps/collector/src/pipeline/batcher';
import { MessageBodies } from '../../apps/collector/src/pipeline/bodies';
import { FLOW_BATCH } from '../../apps/collector/src/sources/flow/ingest';
import {
  ByteSlab,
  type RunWriter,
  type RecordRun,
  type RenderedDatagram,
  renderRuns,
} from '../../apps/collector/src/sources/flow/render';
import { FlowWorkerPool } from '../../apps/collector/src/sources/flow/worker-pool';
import {
  cleanupStreams,
  corpusDir,
  freePort,
  Pipeline,
  testBusSettings,
  uniquePrefix,
  waitFor,
} from '../support';

const RECORDS = Number(process.env.BENCH_FLOW_RECORDS ?? 500_000);
const RATE = Number(process.env.BENCH_FLOW_RATE ?? 250_000);
const CPU_MS = Number(process.env.FLOW_BENCH_CPU_MS ?? 3000);
/** nfcapd is replayed to until it has used this much CPU (its /proc figure is in 10 ms ticks). */
const NFCAPD_CPU_S = Number(process.env.BENCH_FLOW_NFCAPD_CPU_S ?? 1.5);
const NFCAPD_MAX_ROUNDS = 200;
/** BENCH_FLOW_PARTS=a,a4,a2,a3,b,c: which measurements to run (all by default). */
const PARTS = new Set((process.env.BENCH_FLOW_PARTS ?? 'a,a4,a2,a3,b,t,c').split(',').map((p) => p.trim()));

function load(dir: string): Buffer[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f)));
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** (a) Records per CPU-second of the decoder alone. */
function decoderRate(dgrams: Buffer[]): number {
  const cache = new MemoryTemplateCache();
  // As the collector decodes (ingest.ts, flow-worker.ts): addresses kept as numbers, as nfcapd keeps them.
  const ctx = { exporter: '192.0.2.1', receivedAt: new Date(), numericAddresses: true };
  for (const d of dgrams) decodeDatagram(d, ctx, cache);
  let records = 0;
  const t0 = cpuMs();
  let t = t0;
  let passes = 0;
  while (t - t0 < CPU_MS) {
    for (const d of dgrams) records += decodeDatagram(d, ctx, cache).records.length;
    // The clock is read every 8 passes (~3 ms): a getrusage call per pass (~0.4 ms of decoding) was
    // counted as decoding, and nfcapd's figure carries no such cost.
    if ((++passes & 7) === 0) t = cpuMs();
  }
  return records / ((t - t0) / 1000);
}

/**
 * (a4) The decoder on the same datagrams with no address locality: 16 copies of the set, every IPv4
 * address of every copy rewritten to a value of its own (~70,000 distinct addresses in all, far more than
 * any per-address cache holds), decoded copy after copy. The softflowd replay names only 17 addresses, so
 * (a) flatters anything that remembers addresses; this figure does not.
 */
function decoderRateFreshAddresses(dgrams: Buffer[]): number {
  const cache = new MemoryTemplateCache();
  const ctx = { exporter: '192.0.2.1', receivedAt: new Date() };
  const seen = new Set<string>();
  for (const d of dgrams)
    for (const r of decodeDatagram(d, ctx, cache).records)
      for (const [k, v] of Object.entries(r.fields)) if (k.endsWith('IPv4Address')) seen.add(String(v));
  const patterns = [...seen].map((a) => Buffer.from(a.split('.').map(Number)));
  // Where the addresses sit (past the 16-byte IPFIX header), found by their bytes.
  const offsets = dgrams.map((d) => {
    const at: number[] = [];
    for (const p of patterns) for (let i = d.indexOf(p, 16); i >= 0; i = d.indexOf(p, i + 1)) at.push(i);
    return at;
  });
  const numeric = { ...ctx, numericAddresses: true };
  let next = 0x0b000001;
  const copies: Buffer[] = [];
  for (let c = 0; c < 16; c++)
    dgrams.forEach((d, j) => {
      const copy = Buffer.from(d);
      for (const o of offsets[j]!) copy.writeUInt32BE((next = (next + 0x9e3779b1) >>> 0), o);
      copies.push(copy);
    });
  let records = 0;
  const t0 = cpuMs();
  let t = t0;
  let passes = 0;
  while (t - t0 < CPU_MS) {
    for (const d of copies) records += decodeDatagram(d, numeric, cache).records.length;
    if ((++passes & 7) === 0) t = cpuMs();
  }
  return records / ((t - t0) / 1000);
}

/** One datagram decoded and rendered as FlowIngest does it (addresses kept as numbers); undefined when it held no records. */
function renderDatagram(
  d: Buffer,
  receivedAt: Date,
  cache: MemoryTemplateCache,
  slab: RunWriter,
  maxBytes: number,
): { records: number; runs: RecordRun[] } | undefined {
  const { records, layouts } = decodeDatagram(
    d,
    { exporter: '192.0.2.1', receivedAt, numericAddresses: true },
    cache,
  );
  if (records.length === 0) return undefined;
  const { runs } = renderRuns(records, layouts, {
    receivedAt,
    factsOf: (sc) => cache.facts(sc),
    maxBytes,
    slab,
  });
  return { records: records.length, runs };
}

/**
 * (a') The collector's CPU path without NATS: decode → ECS JSON (`flowToEcsJson` via `renderRuns`, as
 * FlowIngest writes it: UTF-8 in place in the message bodies of its batches) → the batcher (the collector's
 * limits) → the JSON array body of each JetStream message, records per CPU-second (each pass a fresh
 * sequence number, so ids and ISO caches work as live). Bodies are released as if acknowledged at once.
 * `copied`: the runs written into a slab and copied into each body instead (the path before in-place bodies).
 */
async function ingestRate(
  dgrams: Buffer[],
  copied = false,
): Promise<{ records_per_cpu_second: number; bytes_per_record: number }> {
  const cache = new MemoryTemplateCache();
  for (const d of dgrams) decodeDatagram(d, { exporter: '192.0.2.1', receivedAt: new Date() }, cache);
  let records = 0;
  let bytes = 0;
  let seq = 0;
  const slab = new ByteSlab();
  const bodies = new MessageBodies(FLOW_BATCH.bytes, slab);
  const subject = (v: number) => `bench.flow.${v}`;
  const batcher = new EventBatcher<null>(
    FLOW_BATCH,
    (subj, items, body) => {
      bytes += batchMessage(subj, items, 'fb', body).data.length;
      if (copied) for (const i of items) if (i.utf8) slab.release(i.utf8);
      return Promise.resolve();
    },
    copied ? undefined : bodies,
  );
  const writer: RunWriter = copied ? slab : { put: (run, v) => bodies.put(subject(v), run) };
  const t0 = cpuMs();
  let t = t0;
  while (t - t0 < CPU_MS) {
    let n = 0;
    for (const d of dgrams) {
      const copy = Buffer.from(d);
      copy.writeUInt32BE(seq++ >>> 0, 8);
      const rendered = renderDatagram(copy, new Date(), cache, writer, FLOW_BATCH.bytes >> 1);
      if (!rendered) continue;
      for (const r of rendered.runs)
        batcher.enqueue(subject(r.version), {
          id: `${r.firstId}-${r.count}`,
          json: '',
          utf8: r.utf8,
          events: r.count,
          origin: null,
        });
      records += rendered.records;
      // As the collector does between datagrams: settled batches hand their bodies back.
      if ((++n & 15) === 0) await Promise.resolve();
    }
    t = cpuMs();
  }
  await batcher.flushAll();
  return {
    records_per_cpu_second: Math.round(records / ((t - t0) / 1000)),
    bytes_per_record: Math.round(bytes / records),
  };
}

/**
 * (a3) The same path through the decoding worker pool (CITYSOC_FLOW_WORKERS), without NATS: the replay's
 * data-only datagrams dealt to `workers` workers, their rendered runs joined into message bodies in this
 * thread. Records per CPU-second of the whole process (every thread) and of this (main) thread alone.
 */
async function poolRate(datagrams: Buffer[], workers: number): Promise<Record<string, number | string>> {
  const store = new MemoryTemplateCache();
  const ctx = { exporter: '192.0.2.1', receivedAt: new Date() };
  for (const d of datagrams.slice(0, 200)) decodeDatagram(d, ctx, store);
  const pool = new FlowWorkerPool({
    workers,
    unitsFile: '',
    maxBytes: 256 * 1024,
    snapshot: () => store.snapshot(),
    redo: () => {
      throw new Error('a bench worker died');
    },
    onRestart: (err) => {
      throw err;
    },
  });
  try {
    await waitFor(() => pool.accepting, 'the flow workers to load');
    const run = async (list: Buffer[]) => {
      let records = 0;
      let bytes = 0;
      const receivedAt = new Date();
      const pending: Array<Promise<RenderedDatagram>> = [];
      for (const d of list) {
        if (dataOnlyDomain(d, ctx.exporter, store) === undefined) continue;
        pending.push(pool.submit(d, ctx.exporter, receivedAt));
        if (pending.length >= 2048) {
          pool.dispatch();
          for (const r of await Promise.all(pending.splice(0))) {
            records += r.records;
            bytes += bodyOf(r.runs).length;
          }
        }
      }
      pool.dispatch();
      for (const r of await Promise.all(pending)) {
        records += r.records;
        bytes += bodyOf(r.runs).length;
      }
      return { records, bytes };
    };
    await run(datagrams.slice(0, 2000)); // warm up both sides
    const main0 = procCpuSeconds(process.pid, process.pid);
    const all0 = procCpuSeconds(process.pid);
    const { records } = await run(datagrams);
    const main = procCpuSeconds(process.pid, process.pid) - main0;
    const all = procCpuSeconds(process.pid) - all0;
    return {
      workers,
      records,
      process_cpu_seconds: all.toFixed(2),
      records_per_process_cpu_second: Math.round(records / all),
      main_thread_cpu_seconds: main.toFixed(2),
      records_per_main_thread_cpu_second: Math.round(records / main),
    };
  } finally {
    await pool.stop();
  }
}

/** A message body of runs, as the batcher builds it. */
function bodyOf(runs: RecordRun[], slab?: ByteSlab): Buffer {
  if (runs.length === 0) return Buffer.alloc(0);
  const items = runs.map((r) => ({ id: r.firstId, json: '', utf8: r.utf8, origin: null, events: r.count }));
  const body = batchMessage('bench', items).data as Buffer;
  if (slab) for (const r of runs) slab.release(r.utf8);
  return body;
}

/** The replay: IPFIX datagrams copied until RECORDS data records, each copy with its own sequence number. */
function replay(ipfix: Buffer[]): { datagrams: Buffer[]; records: number; withRecords: number } {
  const cache = new MemoryTemplateCache();
  const ctx = { exporter: '192.0.2.1', receivedAt: new Date() };
  const counts = ipfix.map((d) => decodeDatagram(d, ctx, cache).records.length);
  const datagrams: Buffer[] = [];
  let records = 0;
  let withRecords = 0;
  let seq = 0;
  for (let round = 0; records < RECORDS; round++) {
    ipfix.forEach((d, i) => {
      if (records >= RECORDS && (counts[i] ?? 0) > 0) return;
      const copy = Buffer.from(d);
      copy.writeUInt32BE(seq >>> 0, 8);
      seq += counts[i] ?? 0;
      datagrams.push(copy);
      records += counts[i] ?? 0;
      if ((counts[i] ?? 0) > 0) withRecords++;
    });
  }
  return { datagrams, records, withRecords };
}

/** Sends at `rate` records/s (0 = as fast as the socket takes them), in 10 ms slices. */
async function send(port: number, datagrams: Buffer[], perDatagram: number, rate: number): Promise<number> {
  const s = dgram.createSocket('udp4');
  const t0 = Date.now();
  const perSlice = rate > 0 ? Math.max(1, Math.round(rate / 100 / perDatagram)) : 256;
  for (let i = 0; i < datagrams.length;) {
    const end = Math.min(datagrams.length, i + perSlice);
    await Promise.all(
      datagrams
        .slice(i, end)
        .map((d) => new Promise<void>((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())))),
    );
    i = end;
    if (rate > 0) {
      const due = t0 + ((i * perDatagram) / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    } else await new Promise((r) => setImmediate(r));
  }
  s.close();
  return (Date.now() - t0) / 1000;
}

function udpDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(hex)) n += Number(cols[cols.length - 1]);
    }
  }
  return n;
}

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function endToEnd(
  datagrams: Buffer[],
  records: number,
  withRecords: number,
): Promise<Record<string, unknown>> {
  const port = await freePort();
  const metricsPort = await freePort();
  const pipeline = new Pipeline({
    apps: ['collector'],
    // BENCH_FLOW_PROFILE=<dir>: the collector writes a V8 CPU profile there when it stops.
    ...(process.env.BENCH_FLOW_PROFILE
      ? { nodeArgs: { collector: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_FLOW_PROFILE}`] } }
      : {}),
    env: {
      CITYSOC_FLOW_HOST: '127.0.0.1',
      CITYSOC_FLOW_IPFIX_PORT: String(port),
      CITYSOC_COLLECTOR_METRICS_PORT: String(metricsPort),
      CITYSOC_EVENTS_MAX_BYTES: '-1',
    },
  });
  await pipeline.start();
  const nc = await connect({ servers: process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222' });
  try {
    const jsm = await nc.jetstreamManager();
    const stored = async () => (await jsm.streams.info(`${pipeline.prefix}EVENTS`)).state.messages;
    const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // Records JetStream acknowledged (counted by the collector once a batch is stored).
    const storedRecords = async () => metric(await metrics(), 'citysoc_component_sent_events_total');
    const collectorPid = pipeline.pid('collector');
    const cpu0 = collectorPid ? procCpuSeconds(collectorPid) : NaN;
    // The main thread (tid = pid) reads the sockets and publishes; decoding workers are other threads.
    const main0 = collectorPid ? procCpuSeconds(collectorPid, collectorPid) : NaN;
    const nats0 = natsCpu();
    const t0 = Date.now();
    const sendSeconds = await send(port, datagrams, records / datagrams.length, RATE);
    // Done when every record sent is stored, or when nothing moved for 5 s (loss).
    let last = -1;
    let still = 0;
    let doneAt = Date.now();
    await waitFor(
      async () => {
        const n = await storedRecords();
        if (n !== last) doneAt = Date.now();
        if (n >= records) return true;
        still = n === last ? still + 1 : 0;
        last = n;
        return still >= 25;
      },
      'the collector to store the replay',
      600_000,
    );
    // Up to the last record stored (not the 5 s of stillness that tell a loss).
    const seconds = (doneAt - t0) / 1000;
    const text = await metrics();
    const published = metric(text, 'citysoc_component_sent_events_total');
    // The collector's own CPU from the first datagram to now (10 ms ticks): a figure the machine's load
    // distorts less than records/s.
    const collectorCpu = collectorPid ? procCpuSeconds(collectorPid) - cpu0 : NaN;
    const mainCpu = collectorPid ? procCpuSeconds(collectorPid, collectorPid) - main0 : NaN;
    const nats = natsCpu();
    const messages = await stored();
    return {
      datagrams_sent: datagrams.length,
      records_sent: records,
      send_seconds: sendSeconds.toFixed(2),
      seconds_to_stored: seconds.toFixed(2),
      records_stored: published,
      records_per_second: Math.round(published / seconds),
      collector_cpu_seconds: collectorCpu.toFixed(2),
      records_stored_per_collector_cpu_second: Math.round(published / collectorCpu),
      collector_main_thread_cpu_seconds: mainCpu.toFixed(2),
      // The ceiling of the main thread (sockets, batching, publishing) on a core of its own.
      records_per_main_thread_cpu_second: Math.round(published / mainCpu),
      workers: process.env.CITYSOC_FLOW_WORKERS ?? 'default',
      nats_server_cpu_seconds: nats === undefined ? 'not found' : (nats - nats0!).toFixed(2),
      messages_stored: messages,
      datagrams_with_records: withRecords,
      lost_records: records - published,
      kernel_drops: udpDrops(port),
      backpressure_drops: metric(text, 'citysoc_component_discarded_events_total', {
        reason: 'backpressure',
      }),
      malformed: metric(text, 'citysoc_flow_malformed_datagrams_total'),
    };
  } finally {
    await nc.close();
    await pipeline.stop();
  }
}

/**
 * (t) The transport floor. The replay's records are decoded and rendered first, untimed, into message
 * bodies as FlowIngest batches them (1000 records or 512 KiB); then only publishing is measured: the bodies
 * go to a stream of their own through the collector's JetStreamPublisher at RATE records/s (all in flight,
 * acks awaited), and the CPU of this process and of nats-server over that span is what moving and storing
 * these bytes costs at that rate. Whatever decodes and renders the records must fit in what is left.
 */
const FLOOR_IN_FLIGHT = Number(process.env.BENCH_FLOW_FLOOR_IN_FLIGHT ?? 8);

async function transportFloor(datagrams: Buffer[]): Promise<Record<string, unknown>> {
  const cache = new MemoryTemplateCache();
  const slab = new ByteSlab();
  const receivedAt = new Date();
  const bodies: Array<{ data: Buffer; records: number }> = [];
  let batch: RecordRun[] = [];
  let batched = 0;
  let bytes = 0;
  const close = () => {
    if (batch.length === 0) return;
    bodies.push({ data: bodyOf(batch, slab), records: batched });
    batch = [];
    batched = 0;
    bytes = 0;
  };
  for (const d of datagrams) {
    for (const r of renderDatagram(d, receivedAt, cache, slab, FLOW_BATCH.bytes >> 1)?.runs ?? []) {
      if (bytes + r.utf8.length > FLOW_BATCH.bytes) close();
      batch.push(r);
      batched += r.count;
      bytes += r.utf8.length + 1;
      if (batched >= FLOW_BATCH.events) close();
    }
  }
  close();
  // The rendering's garbage would otherwise be collected inside the timed span (node --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  const prefix = uniquePrefix();
  const bus = await openBus({ ...testBusSettings(prefix), eventsMaxBytes: -1 }, 'bench-floor', 20);
  try {
    const subject = bus.names.eventsSubject('flow', 'udp');
    const records = bodies.reduce((n, b) => n + b.records, 0);
    const payload = bodies.reduce((n, b) => n + b.data.length, 0);
    const nats0 = natsCpu();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const acks: Array<Promise<unknown>> = [];
    let sent = 0;
    for (const [i, b] of bodies.entries()) {
      const due = RATE > 0 ? (sent / RATE) * 1000 : 0;
      const wait = due - (performance.now() - t0);
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      // A few messages in flight, not the whole backlog: nats.js joins everything it has not written yet
      // into one buffer per flush, so an unbounded backlog is copied again and again.
      if (i >= FLOOR_IN_FLIGHT) await acks[i - FLOOR_IN_FLIGHT];
      acks.push(
        bus.publisher.publish({
          subject,
          data: b.data,
          msgId: `floor-${i}`,
          headers: { 'Citysoc-Events': String(b.records) },
        }),
      );
      sent += b.records;
    }
    await Promise.all(acks);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const publisherCpu = (cpu.user + cpu.system) / 1e6;
    const nats = natsCpu();
    const natsServerCpu = nats === undefined || nats0 === undefined ? NaN : nats - nats0;
    const stored = (await bus.jsm.streams.info(bus.names.eventsStream)).state.messages;
    // Per record, scaled to the (b) rate: the share of two cores that publishing and storing take there.
    const cores = ((publisherCpu + natsServerCpu) / records) * (RATE || records / seconds);
    return {
      records,
      messages: bodies.length,
      messages_stored: stored,
      bytes_per_record: Math.round(payload / records),
      in_flight_messages: FLOOR_IN_FLIGHT,
      seconds: seconds.toFixed(2),
      records_per_second: Math.round(records / seconds),
      publisher_cpu_seconds: publisherCpu.toFixed(2),
      nats_server_cpu_seconds: natsServerCpu.toFixed(2),
      cores_publishing_and_storing_at_rate: cores.toFixed(2),
      // What is left of two cores at that rate for receiving, decoding and rendering one record.
      cpu_microseconds_left_per_record_at_rate: Number(
        (((2 - cores) / (RATE || records / seconds)) * 1e6).toFixed(2),
      ),
    };
  } finally {
    await bus.close();
    await cleanupStreams(prefix);
  }
}

/** CPU seconds (user + system) a process (or with `tid`, one of its threads) has used so far, from /proc. */
function procCpuSeconds(pid: number, tid?: number): number {
  const stat = readFileSync(
    tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    'utf8',
  );
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** CPU seconds of the nats-server process(es) on this machine (it shares the two cores), if any. */
function natsCpu(): number | undefined {
  let total: number | undefined;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm !== 'nats-server') continue;
      total = (total ?? 0) + procCpuSeconds(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Bytes waiting in the receive queue of the IPv4 UDP socket bound to `port` (undefined: none bound). */
function rxQueue(port: number): number | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1]?.endsWith(hex)) return parseInt((cols[4] ?? '0:0').split(':')[1] ?? '0', 16);
  }
  return undefined;
}

/**
 * (c) nfcapd on the same datagrams: the replay is sent round after round, each round with the header
 * sequence numbers advanced by the records of a round (so nfcapd sees one exporter counting on, no gaps),
 * until nfcapd has spent NFCAPD_CPU_S CPU-seconds (utime + stime from /proc, 10 ms ticks: a second is
 * 100 ticks, so the figure is good to about 1 %). Sent unpaced; what the kernel dropped is reported and
 * only the records nfcapd wrote (counted with nfdump afterwards) are divided by its CPU time. Like for
 * like, but not the same work: nfcapd decodes into its binary record format and writes it to a file,
 * (a) decodes into FlowRecord objects in memory (element names, ISO times, address strings).
 */
async function nfcapd(datagrams: Buffer[], records: number): Promise<Record<string, unknown> | undefined> {
  const bin = ['/usr/bin/nfcapd', '/usr/sbin/nfcapd'].find((p) => existsSync(p));
  const nfdump = ['/usr/bin/nfdump', '/usr/sbin/nfdump'].find((p) => existsSync(p));
  if (!bin || !nfdump) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-nfcapd-'));
  const port = await freePort();
  const child = spawn(bin, ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', String(16 << 20)], {
    stdio: 'ignore',
  });
  const copies = datagrams.map((d) => Buffer.from(d));
  const seq0 = datagrams.map((d) => d.readUInt32BE(8));
  try {
    await waitFor(() => rxQueue(port) !== undefined, 'nfcapd listening');
    const cpu0 = procCpuSeconds(child.pid!);
    let rounds = 0;
    let sent = 0;
    let sendSeconds = 0;
    while (procCpuSeconds(child.pid!) - cpu0 < NFCAPD_CPU_S && rounds < NFCAPD_MAX_ROUNDS) {
      copies.forEach((c, i) => c.writeUInt32BE((seq0[i]! + rounds * records) >>> 0, 8));
      sendSeconds += await send(port, copies, records / copies.length, 0);
      await waitFor(() => rxQueue(port) === 0, 'nfcapd to drain its socket');
      sent += records;
      rounds++;
    }
    const cpu = procCpuSeconds(child.pid!) - cpu0;
    const drops = udpDrops(port);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    const flows = await countLines(nfdump, ['-R', dir, '-q', '-o', 'fmt:%pr']);
    return {
      rounds,
      records_sent: sent,
      send_seconds: sendSeconds.toFixed(2),
      records_stored: flows,
      cpu_seconds: cpu.toFixed(2),
      records_per_cpu_second: Math.round(flows / cpu),
      kernel_drops_datagrams: drops,
      note: 'nfcapd decodes into its binary records and writes them to a file; (a) decodes into FlowRecord objects in memory',
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Non-empty lines a command prints (streamed: nfdump prints one line per record, millions of them). */
function countLines(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let n = 0;
    let lastNl = true;
    c.stdout.on('data', (b: Buffer) => {
      for (let i = 0; i < b.length; i++) {
        if (b[i] === 10) {
          if (!lastNl) n++;
          lastNl = true;
        } else lastNl = false;
      }
    });
    c.once('error', reject);
    c.once('close', (code) =>
      code === 0 ? resolve(lastNl ? n : n + 1) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const corpus = corpusDir();
  if (!corpus) throw new Error('the flow corpus is needed (CITYSOC_CORPUS_DIR or ../shared/corpus)');
  const base = path.join(corpus, 'flow', 'softflowd');
  const sets = {
    v5: load(path.join(base, 'v5')),
    v9: load(path.join(base, 'v9')),
    ipfix: load(path.join(base, 'ipfix')),
  };
  const decoder: Record<string, number> = {};
  if (PARTS.has('a')) for (const [k, v] of Object.entries(sets)) decoder[k] = Math.round(decoderRate(v));
  const fresh = PARTS.has('a4') ? Math.round(decoderRateFreshAddresses(sets.ipfix)) : undefined;
  const ingest = PARTS.has('a2')
    ? {
        ...(await ingestRate(sets.ipfix)),
        // BENCH_FLOW_A2_COPIED=0 leaves it out (a profile of the in-place path alone).
        records_per_cpu_second_copied_bodies:
          process.env.BENCH_FLOW_A2_COPIED === '0'
            ? 'skipped'
            : (await ingestRate(sets.ipfix, true)).records_per_cpu_second,
      }
    : 'skipped';
  const { datagrams, records, withRecords } = replay(sets.ipfix);
  const pooled = PARTS.has('a3') ? await poolRate(datagrams, 1) : 'skipped';
  const e2e = PARTS.has('b') ? await endToEnd(datagrams, records, withRecords) : { skipped: true };
  const floor = PARTS.has('t') ? await transportFloor(datagrams) : 'skipped';
  const nf = PARTS.has('c') ? await nfcapd(datagrams, records) : undefined;
  const result = {
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    a_decoder_records_per_cpu_second: decoder,
    a4_decoder_ipfix_no_address_locality: fresh ?? 'skipped',
    a2_ingest_ipfix_decode_ecs_json: ingest,
    a3_worker_pool_decode_ecs_json: pooled,
    b_end_to_end_ipfix: { rate_asked_records_per_second: RATE || 'unpaced', ...e2e },
    t_transport_floor_ipfix: floor,
    c_nfcapd_ipfix: nf ?? 'nfcapd/nfdump not installed (bash scripts/ensure-peers.sh)',
    ratio_decoder_to_nfcapd:
      nf && decoder.ipfix ? Number((decoder.ipfix / (nf.records_per_cpu_second as number)).toFixed(2)) : null,
    ratio_decoder_no_address_locality_to_nfcapd:
      nf && fresh ? Number((fresh / (nf.records_per_cpu_second as number)).toFixed(2)) : null,
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
