import 'reflect-metadata';
import cluster, { type Worker } from 'node:cluster';
import { loadConfigOrExit, runWorkerApp } from '@citysoc/observability';
import { collectorSchema } from './config';
import { CollectorModule } from './collector.module';

/**
 * One process, or with CITYSOC_COLLECTOR_WORKERS=N a primary that forks N workers sharing the syslog ports
 * (node:cluster hands out TCP connections and shares the UDP socket), so parsing uses every core. A worker
 * that dies is replaced; SIGTERM/SIGINT stop the workers gracefully (each drains what it accepted).
 */
const config = loadConfigOrExit(collectorSchema, 'collector');

if (config.workers > 1 && cluster.isPrimary) {
  let stopping = false;
  const byIndex = new Map<number, Worker>();
  const fork = (index: number) => {
    const w = cluster.fork({ CITYSOC_COLLECTOR_WORKER_INDEX: String(index) });
    byIndex.set(index, w);
    w.on('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`citysoc-collector worker ${index} exited (${signal ?? code}); restarting\n`);
      setTimeout(() => fork(index), 1000);
    });
  };
  for (let i = 0; i < config.workers; i++) fork(i);
  // Silence is judged by worker 0; the others relay which sources they heard.
  cluster.on('message', (_worker, m: { citysocSourceSeen?: unknown }) => {
    if (typeof m?.citysocSourceSeen !== 'string') return;
    const first = byIndex.get(0);
    if (first?.isConnected()) first.send(m);
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  cluster.on('exit', () => {
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
} else {
  runWorkerApp('collector', collectorSchema, (c) =>
    CollectorModule.register(
      // Only worker 0 serves /metrics; the others would contend for the same port.
      c.workerIndex > 0 ? { ...c, metricsPort: -1 } : c,
    ),
  );
}
