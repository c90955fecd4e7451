import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanupStreams } from './nats';
import { freePort, uniquePrefix, waitFor } from './net';
import { repoRoot } from './root';

export type AppName = 'collector' | 'detector' | 'indexer' | 'responder' | 'api';

export interface PipelineOptions {
  apps?: AppName[];
  env?: Record<string, string>;
  /** Extra node flags per app, e.g. `--cpu-prof` for profiling in the benchmark. */
  nodeArgs?: Partial<Record<AppName, string[]>>;
}

const READY: Record<AppName, string> = {
  collector: 'collector started',
  detector: 'detector started',
  indexer: 'indexer started',
  responder: 'responder started',
  api: 'citysoc API listening',
};

const DIST = path.join(repoRoot(), 'dist', 'apps');

/**
 * The real apps as real processes (built output), isolated by a unique stream/queue prefix and a temp data
 * folder, so end-to-end tests exercise exactly what `npm start` runs — including kill -9 and restart.
 */
export class Pipeline {
  readonly prefix = uniquePrefix();
  readonly dataDir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-e2e-'));
  readonly adminToken = `csk_test_${randomBytes(24).toString('base64url')}`;
  syslogPort = 0;
  apiPort = 0;
  private readonly procs = new Map<AppName, ChildProcess>();
  readonly logs = new Map<AppName, string[]>();

  constructor(private readonly opts: PipelineOptions = {}) {}

  /** Process id of a running app (benchmarks read its CPU time from /proc). */
  pid(app: AppName): number | undefined {
    return this.procs.get(app)?.pid;
  }

  get queuePrefix(): string {
    return `citysoc-${this.prefix}`;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  async start(): Promise<void> {
    this.syslogPort = await freePort();
    this.apiPort = await freePort();
    for (const app of this.opts.apps ??
      (['indexer', 'detector', 'responder', 'collector', 'api'] as AppName[]))
      await this.startApp(app);
  }

  env(): Record<string, string> {
    return {
      ...(process.env as Record<string, string>),
      CITYSOC_STREAM_PREFIX: this.prefix,
      // File streams reserve their byte cap on the server: tests running side by side must not claim 10 GB each.
      CITYSOC_EVENTS_MAX_BYTES: String(512 * 1024 ** 2),
      CITYSOC_QUEUE_PREFIX: this.queuePrefix,
      CITYSOC_DATA_DIR: this.dataDir,
      CITYSOC_SYSLOG_UDP_PORT: String(this.syslogPort),
      CITYSOC_SYSLOG_TCP_PORT: String(this.syslogPort),
      // Ephemeral flow ports: concurrent pipelines must not fight over 2055/4739.
      CITYSOC_FLOW_NETFLOW_PORT: '0',
      CITYSOC_FLOW_IPFIX_PORT: '0',
      CITYSOC_API_PORT: String(this.apiPort),
      CITYSOC_ADMIN_TOKEN: this.adminToken,
      CITYSOC_COLLECTOR_METRICS_PORT: '-1',
      CITYSOC_DETECTOR_METRICS_PORT: '-1',
      CITYSOC_INDEXER_METRICS_PORT: '-1',
      CITYSOC_RESPONDER_METRICS_PORT: '-1',
      // The shared test Redis keeps nothing on disk; durability has its own tests (test/chaos).
      CITYSOC_REDIS_ALLOW_VOLATILE: 'true',
      ...(this.opts.env ?? {}),
    };
  }

  /**
   * Starts an app and waits until it is ready. An app that exits during its start (e.g. a NATS request that
   * timed out while the cluster was still settling after a fault) is started again, up to three times, as
   * the local supervisor (scripts/run-local.ts) and the systemd units (Restart=always) do; each exit stays
   * in the app's log, and the count in `restartsDuringStart`.
   */
  async startApp(app: AppName): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce(app);
        return;
      } catch (e) {
        if (!(e instanceof AppExitedDuringStart) || attempt >= 3) throw e;
        this.restartsDuringStart.set(app, (this.restartsDuringStart.get(app) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Starts the supervisor restarted an app after it exited during its start, per app. */
  readonly restartsDuringStart = new Map<AppName, number>();

  private async startOnce(app: AppName): Promise<void> {
    const child = spawn(
      process.execPath,
      [...(this.opts.nodeArgs?.[app] ?? []), path.join(DIST, app, 'src', 'main.js')],
      {
        env: this.env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.procs.set(app, child);
    const lines: string[] = this.logs.get(app) ?? [];
    this.logs.set(app, lines);
    let ready = false;
    const onData = (b: Buffer) => {
      const text = b.toString('utf8');
      lines.push(text);
      if (text.includes(READY[app])) ready = true;
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let exited = false;
    child.on('exit', () => (exited = true));
    // waitFor retries through a thrown error, so the exit is reported as a value and thrown here.
    const outcome = await waitFor(() => (exited ? 'exited' : ready && 'ready'), `${app} to start`, 60_000);
    if (outcome === 'exited')
      throw new AppExitedDuringStart(`${app} exited during start:\n${lines.join('').slice(-3000)}`);
  }

  /** kill -9: no shutdown hook runs, exactly like a crash. */
  async kill(app: AppName): Promise<void> {
    const child = this.procs.get(app);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.procs.delete(app);
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.entries()].map(async ([, child]) => {
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }),
    );
    this.procs.clear();
    await cleanupStreams(this.prefix).catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async api<T = unknown>(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.apiUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }
}

class AppExitedDuringStart extends Error {}
