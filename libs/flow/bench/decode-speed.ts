/**
 * Decoder throughput on replayed real datagrams (the softflowd captures of the flow corpus): records per
 * CPU-second (user + system), templates already known, as nfcapd would be measured. Not a test: run it
 * after a build, e.g. `node dist/libs/flow/bench/decode-speed.js [--ecs]`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '@citysoc/config';
import { decodeDatagram, flowToEcs, MemoryTemplateCache } from '../src';

// From sources or from dist/: the corpus sits beside the checkout (../shared/corpus) unless configured.
const corpus =
  process.env.CITYSOC_CORPUS_DIR ?? path.resolve(projectRoot(__dirname), '..', 'shared', 'corpus');
const withEcs = process.argv.includes('--ecs');
const minCpuMs = Number(process.env.FLOW_BENCH_CPU_MS ?? 2000);

function load(dir: string): Buffer[] {
  const abs = path.join(corpus, 'flow', dir);
  return fs
    .readdirSync(abs)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => fs.readFileSync(path.join(abs, f)));
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

for (const set of ['softflowd/v5', 'softflowd/v9', 'softflowd/ipfix']) {
  const dgrams = load(set);
  const cache = new MemoryTemplateCache();
  const ctx = { exporter: '192.0.2.1', receivedAt: new Date() };
  for (const d of dgrams) decodeDatagram(d, ctx, cache); // learn templates, warm up
  let records = 0;
  let sink = 0;
  const t0 = cpuMs();
  let t = t0;
  let passes = 0;
  while (t - t0 < minCpuMs) {
    for (const d of dgrams) {
      const r = decodeDatagram(d, ctx, cache);
      records += r.records.length;
      if (withEcs) for (const rec of r.records) sink += flowToEcs(rec, ctx).event.id.length;
    }
    // Every 8 passes: a getrusage call per pass (~0.4 ms of decoding) would be counted as decoding.
    if ((++passes & 7) === 0) t = cpuMs();
  }
  const perSec = Math.round(records / ((t - t0) / 1000));
  // `sink` is printed so the ECS work cannot be optimised away.
  console.log(
    `${set}${withEcs ? ` +ECS (sink ${sink})` : ''}: ${perSec.toLocaleString('en-US')} records per CPU-second (${records} records)`,
  );
}
