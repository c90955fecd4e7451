import { parentPort, workerData } from 'node:worker_threads';
import { UnitRegistry } from '@citysoc/enrich';
import { type ParseJob, runParseJob } from './parse-job';

/**
 * A parse thread of the collector (see ParsePool): jobs in, serialized events out. The unit registry is
 * rebuilt here from the YAML the main thread already validated.
 */
const data = workerData as { unitsYaml?: string; unitsFile?: string } | undefined;
const units = data?.unitsYaml
  ? UnitRegistry.fromYaml(data.unitsYaml, data.unitsFile ?? 'units').registry
  : UnitRegistry.empty();

parentPort?.on('message', (m: { seq: number; job: ParseJob }) => {
  const r = runParseJob(m.job, units);
  parentPort!.postMessage({ seq: m.seq, ...r }, [
    r.utf8.buffer as ArrayBuffer,
    ...r.results.map((g) => g.ts.buffer as ArrayBuffer),
  ]);
});
parentPort?.postMessage({ ready: true });
