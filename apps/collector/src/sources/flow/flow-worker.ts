/**
 * A flow decoding worker (worker_threads): decodes batches of data-only datagrams against a mirror of the
 * collector's template store and renders their records as ECS JSON runs; the main thread publishes them.
 * The mirror only changes by the messages the main thread sends (template and facts changes, in the
 * order it learnt them, before any datagram that needs them), so it never holds data for a template: a
 * set it cannot decode comes back as a `template-missing` error and is dead-lettered by the main thread.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { UnitRegistry } from '@citysoc/enrich';
import { applyChange, decodeDatagram, MemoryTemplateCache } from '@citysoc/flow';
import { type WorkerIn, type WorkerOut, type WorkerSetup } from './worker-protocol';
import { ByteSlab, type RenderedDatagram, renderRuns, unitJsonFor, unitJsonV4For } from './render';

const setup = workerData as WorkerSetup;
const cache = new MemoryTemplateCache({ maxPendingSets: 0, maxPendingSetsPerExporter: 0 });
const units = setup.unitsFile
  ? UnitRegistry.fromYaml(readFileSync(setup.unitsFile, 'utf8'), setup.unitsFile).registry
  : UnitRegistry.empty();
const unitJson = unitJsonFor(units);
const unitJsonV4 = unitJsonV4For(units);
const factsOf = cache.facts.bind(cache);
// A batch's runs are written into slabs transferred with the reply: the main thread gets the bytes
// without a copy (strings used to be structured-cloned, which cost more than decoding them here).
const slab = new ByteSlab(256 * 1024, 'transfer');

parentPort!.on('message', (m: WorkerIn) => {
  if (m.t === 'changes') {
    for (const c of m.changes) applyChange(cache, c);
    return;
  }
  if (m.t === 'crash') throw new Error('crash asked for (test)');
  const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const results: RenderedDatagram[] = [];
  for (const it of m.items) {
    const raw = buf.subarray(it.off, it.off + it.len);
    const receivedAt = new Date(it.receivedAt);
    const { records, layouts, errors, messages } = decodeDatagram(
      raw,
      { exporter: it.exporter, receivedAt, numericAddresses: true },
      cache,
    );
    const { runs, perVersion } = renderRuns(records, layouts, {
      receivedAt,
      unitJson,
      unitJsonV4,
      factsOf,
      maxBytes: m.maxBytes,
      slab,
    });
    results.push({ runs, perVersion, messages, errors, records: records.length });
  }
  const out: WorkerOut = { t: 'done', id: m.id, results };
  parentPort!.postMessage(out, slab.takeBuffers());
});
parentPort!.postMessage({ t: 'ready' } satisfies WorkerOut);
