import { parentPort } from 'node:worker_threads';
import { UnitRegistry } from '@citysoc/enrich';
import { type ParseJob, runParseJob } from './parse-job';

/** A parse thread that dies (as an out-of-memory or a native fault would) on any job holding "CRASH". */
parentPort?.on('message', (m: { seq: number; job: ParseJob }) => {
  if (Buffer.from(m.job.buf).includes('CRASH')) process.exit(3);
  parentPort!.postMessage({ seq: m.seq, ...runParseJob(m.job, UnitRegistry.empty()) });
});
parentPort?.postMessage({ ready: true });
