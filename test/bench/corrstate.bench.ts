/**
 * Correlation-state persistence benchmark (issues 3 and 11): what the detector spends per batch to save its
 * correlation windows, for a ~1 MB and a ~10 MB state (event_count over 250 source addresses, as in the
 * chaos burst that outgrew the 1 MiB max payload).
 *   before: snapshot `before` for rollback + snapshot to persist + JSON + one KV put (impossible over 1 MiB)
 *   after:  one snapshot + JSON + deflate + chunked KV write (KvBlobStore), rollback from the kept bytes
 * Also compares the codecs on that JSON. Prints wall and process-CPU milliseconds (medians) and the load.
 *
 *   npm run bench:corrstate   (BENCH_REPS, BENCH_SIZES_MB=0.9,1.2,10; needs NATS on CITYSOC_NATS_URL)
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { KvBlobStore, openBus, openKv } from '@citysoc/bus';
import { type EcsEvent } from '@citysoc/ecs';
import { type DetectionEngine } from '../../apps/detector/src/engine';
import { loadRuleSet } from '../../apps/detector/src/rule-set';
import { testBusSettings } from '../support/bus';
import { sshGuessingRules, writeRulesDir } from '../support/detector-rules';
import { cleanupStreams } from '../support/nats';
import { uniquePrefix } from '../support/net';

const REPS = Number(process.env.BENCH_REPS ?? 7);
const SIZES = (process.env.BENCH_SIZES_MB ?? '0.9,1.2,10').split(',').map(Number);
const GROUPS = 250;

// Never reached, over an hour: the windows only grow, as under a burst.
const RULES = sshGuessingRules('7e1d2a3c', 100_000_000, '1h');

function engineWithState(targetBytes: number): { engine: DetectionEngine; events: number } {
  const dir = writeRulesDir('corrstate-bench', RULES);
  const { engine } = loadRuleSet({ paths: [dir], pipeline: 'citysoc' });
  rmSync(dir, { recursive: true, force: true });
  const base = Date.parse('2026-11-27T03:00:00Z');
  const now = new Date(base + 60_000);
  let n = 0;
  for (;;) {
    for (let i = 0; i < 5000; i++, n++) {
      const ip = `10.1.${Math.floor((n % GROUPS) / 250)}.${n % GROUPS}`;
      const e: EcsEvent = {
        '@timestamp': new Date(base + (n % 3_000_000)).toISOString(),
        message: `Failed password for root from ${ip} port ${1024 + (n % 60000)} ssh2`,
        event: { id: `bench-${n}`, created: now.toISOString(), module: 'syslog' },
        source: { ip },
      };
      engine.detect(e, now, true);
    }
    if (JSON.stringify(engine.snapshot()).length >= targetBytes) return { engine, events: n };
  }
}

interface Cost {
  wall: number;
  cpu: number;
}

async function measure(fn: () => unknown): Promise<Cost> {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(walls), cpu: median(cpus) };
}

const fmt = (c: Cost): string => `${c.wall.toFixed(1)} ms wall, ${c.cpu.toFixed(1)} ms CPU`;

async function main(): Promise<void> {
  const prefix = uniquePrefix();
  const bus = await openBus(testBusSettings(prefix), 'bench');
  try {
    const kv = await openKv(bus, 'corrstate-bench');
    const store = new KvBlobStore(kv, bus.jsm);
    console.log(
      `load average at start: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${REPS} reps`,
    );
    for (const mbTarget of SIZES) {
      const { engine, events } = engineWithState(mbTarget * 1_000_000);
      const json = Buffer.from(JSON.stringify({ correlatedUpTo: events, state: engine.snapshot() }));
      console.log(`\nstate ~${mbTarget} MB: ${events} events in ${GROUPS} groups, JSON ${json.length} bytes`);
      for (const [name, f] of [
        ['deflate-raw level 1', () => deflateRawSync(json, { level: 1 })],
        ['deflate-raw level 6', () => deflateRawSync(json, { level: 6 })],
        ['gzip level 1', () => gzipSync(json, { level: 1 })],
        ['gzip level 6', () => gzipSync(json, { level: 6 })],
      ] as const) {
        const size = f().length;
        console.log(
          `  codec ${name}: ${fmt(await measure(f))}, ${size} bytes (${((100 * size) / json.length).toFixed(1)}%)`,
        );
      }
      const snap = await measure(() => engine.snapshot());
      const ser = await measure(() => JSON.stringify({ correlatedUpTo: events, state: engine.snapshot() }));
      console.log(`  snapshot: ${fmt(snap)}; snapshot + JSON: ${fmt(ser)}`);
      const before = await measure(async () => {
        engine.snapshot(); // `before`, for the rollback
        const value = Buffer.from(JSON.stringify({ correlatedUpTo: events, state: engine.snapshot() }));
        if (value.length <= bus.nc.info!.max_payload) await kv.put('legacy', value);
      });
      const beforeFits = json.length <= bus.nc.info!.max_payload;
      console.log(
        `  before (2 snapshots + JSON${beforeFits ? ' + KV put' : ', put impossible: over max_payload'}): ${fmt(before)}`,
      );
      const after = await measure(async () => {
        const value = Buffer.from(JSON.stringify({ correlatedUpTo: events, state: engine.snapshot() }));
        await store.write('state', value);
      });
      console.log(`  after (1 snapshot + JSON + deflate + chunked KV write): ${fmt(after)}`);
      const read = await measure(() => store.read('state'));
      console.log(`  read back (restart): ${fmt(read)}`);
    }
    console.log(
      `\nload average at end: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await bus.close();
    await cleanupStreams(prefix);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
