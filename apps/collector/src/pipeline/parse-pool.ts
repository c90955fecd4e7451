import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type GroupContext, type JobResult, type ParseJob, type PooledResult } from './parse-job';

const NO_BYTES = Buffer.alloc(0);

export interface ParsePoolOptions {
  threads: number;
  /** The unit registry's YAML (already validated by the caller) and its file name for messages. */
  unitsYaml?: string;
  unitsFile?: string;
  /** Runs of events are cut at the batch limits (see ParseJob). */
  runEvents: number;
  runBytes: number;
  /** Told when a thread died (metrics, log); the pool restarts it on its own. */
  onCrash?: (err: unknown) => void;
  /** The thread's entry (tests use a thread that crashes on purpose). */
  script?: string;
}

/**
 * Where a parse thread cuts its runs of events: well inside the batch limits, so a run always fits a
 * batch (bytes are counted in UTF-16 units there, up to 3 UTF-8 bytes each here).
 */
export function runLimits(batch: { events: number; bytes: number }): { runEvents: number; runBytes: number } {
  return { runEvents: batch.events, runBytes: Math.max(1024, Math.floor(batch.bytes / 4)) };
}

/** Frames a job gathers before it is sent without waiting for the next turn of the event loop. */
const JOB_FRAMES = 1024;

interface Pending {
  frames: readonly Buffer[];
  ids: readonly string[];
  ctx: GroupContext;
  /** Submission order: results are handed out in it. */
  ticket: number;
  resolve: (r: PooledResult) => void;
  /** Set once the group crashed a thread: the next crash dead-letters it instead of retrying. */
  retried?: boolean;
}

interface Job {
  seq: number;
  groups: Pending[];
}

interface Thread {
  worker: Worker;
  jobs: Map<number, Job>;
  /** It said it loaded (its modules and the unit registry). */
  ready: boolean;
}

/** A thread that dies before it is ready is restarted after this long, not in a tight loop. */
const RESPAWN_BROKEN_MS = 1000;

/** A group a thread died on twice: every frame becomes a dead letter with this reason, none is dropped. */
export function crashedGroup(count: number, err: unknown): PooledResult {
  const reason = `the parse thread died on this batch twice: ${err instanceof Error ? err.message : String(err)}`;
  const dead = [];
  for (let i = 0; i < count; i++) dead.push({ index: i, code: 'internal_error', reason });
  return { runs: [], dead, own: [], ts: new Float64Array(count).fill(NaN), utf8: NO_BYTES };
}

/**
 * worker_threads that parse, normalize, enrich and serialize syslog frames, so the main thread only reads
 * sockets, frames, counts ids and publishes. The frames of one job (one or more reads, gathered until the
 * next turn of the event loop) cross in one transferred buffer with offsets; the events come back as
 * comma-joined JSON runs ready for a batch. Results are handed out in submission order, so events keep the
 * order they were read in. A thread that dies is replaced; its jobs are redone group by group on the new
 * threads, and a group that kills a thread a second time is dead-lettered (raw bytes kept by the caller),
 * never dropped.
 */
export class ParsePool {
  private readonly threads: Thread[] = [];
  private queue: Pending[] = [];
  private queued = 0;
  private immediate?: NodeJS.Immediate;
  private seq = 0;
  private tickets = 0;
  private nextOut = 0;
  /** Results that came back before an earlier submission's. */
  private readonly early = new Map<number, { resolve: (r: PooledResult) => void; result: PooledResult }>();
  private closed = false;
  /** Groups waiting for a thread while none is alive (a restart after a start failure is pending). */
  private stalled: Pending[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly started: Promise<void>;
  private startedCallbacks?: { resolve(): void; reject(err: unknown): void; left: number };
  /** Threads that died so far (tests, metrics). */
  crashes = 0;

  constructor(private readonly opts: ParsePoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1)
      throw new Error('a parse pool needs threads >= 1');
    this.started = new Promise<void>((resolve, reject) => {
      this.startedCallbacks = { resolve, reject, left: opts.threads };
    });
    this.started.catch(() => undefined);
    for (let i = 0; i < opts.threads; i++) this.threads.push(this.spawn());
  }

  /** Resolves when every thread loaded; rejects when one died first (a broken install: the start fails). */
  ready(): Promise<void> {
    return this.started;
  }

  get size(): number {
    return this.threads.length;
  }

  /** One read's frames (all from one sender); resolves with their events, dead letters and runs. */
  submit(frames: readonly Buffer[], ids: readonly string[], ctx: GroupContext): Promise<PooledResult> {
    if (this.closed) return Promise.reject(new Error('parse pool closed'));
    const ticket = this.tickets++;
    return new Promise((resolve) => {
      this.queue.push({ frames, ids, ctx, ticket, resolve });
      this.queued += frames.length;
      if (this.queued >= JOB_FRAMES) this.dispatch();
      else this.immediate ??= setImmediate(() => this.dispatch());
    });
  }

  /** Stops the threads; groups still queued or running are dead-lettered by their callers' error path. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    const err = new Error('parse pool closed');
    for (const p of this.queue) this.deliver(p, crashedGroup(p.frames.length, err));
    this.queue = [];
    for (const p of this.stalled) this.deliver(p, crashedGroup(p.frames.length, err));
    this.stalled = [];
    for (const t of this.timers) clearTimeout(t);
    const threads = this.threads.splice(0);
    for (const t of threads)
      for (const j of t.jobs.values())
        for (const g of j.groups) this.deliver(g, crashedGroup(g.frames.length, err));
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    const groups = this.queue;
    this.queue = [];
    this.queued = 0;
    if (groups.length > 0) this.send(groups);
  }

  private send(groups: Pending[]): void {
    let total = 0;
    let n = 0;
    for (const g of groups) {
      n += g.frames.length;
      for (const f of g.frames) total += f.length;
    }
    // A buffer of its own (not from Buffer's shared pool): it is transferred, i.e. gone from this thread.
    const buf = new Uint8Array(new ArrayBuffer(total));
    const offsets = new Int32Array(2 * n);
    const ids: string[] = new Array<string>(n);
    let at = 0;
    let k = 0;
    for (const g of groups)
      for (let i = 0; i < g.frames.length; i++) {
        const f = g.frames[i]!;
        buf.set(f, at);
        offsets[2 * k] = at;
        at += f.length;
        offsets[2 * k + 1] = at;
        ids[k++] = g.ids[i]!;
      }
    const job: ParseJob = {
      buf,
      offsets,
      ids: ids.join('\n'),
      groups: groups.map((g) => ({ count: g.frames.length, ctx: g.ctx })),
      runEvents: this.opts.runEvents,
      runBytes: this.opts.runBytes,
    };
    const thread = this.leastBusy();
    if (!thread) {
      this.stalled.push(...groups);
      return;
    }
    const seq = this.seq++;
    thread.jobs.set(seq, { seq, groups });
    thread.worker.postMessage({ seq, job }, [buf.buffer, offsets.buffer]);
  }

  /** Hands a result out once every earlier submission's is out. */
  private deliver(p: Pending, result: PooledResult): void {
    if (p.ticket !== this.nextOut) {
      this.early.set(p.ticket, { resolve: p.resolve, result });
      return;
    }
    p.resolve(result);
    this.nextOut++;
    for (let e = this.early.get(this.nextOut); e; e = this.early.get(this.nextOut)) {
      this.early.delete(this.nextOut);
      e.resolve(e.result);
      this.nextOut++;
    }
  }

  private leastBusy(): Thread | undefined {
    let best: Thread | undefined;
    for (const t of this.threads) if (!best || t.jobs.size < best.jobs.size) best = t;
    return best;
  }

  private spawn(): Thread {
    const script = this.opts.script ?? defaultScript();
    const ts = script.endsWith('.ts');
    const worker = new Worker(ts ? path.join(__dirname, '../../../../scripts/ts-worker.js') : script, {
      workerData: {
        unitsYaml: this.opts.unitsYaml,
        unitsFile: this.opts.unitsFile,
        ...(ts ? { tsEntry: script } : {}),
      },
    });
    // The pool never keeps the process alive by itself: in-flight tracking is what shutdown waits for.
    worker.unref();
    const thread: Thread = { worker, jobs: new Map(), ready: false };
    worker.on('message', (m: ({ seq: number } & JobResult) | { ready: true }) => {
      if ('ready' in m) {
        thread.ready = true;
        const s = this.startedCallbacks;
        if (s && --s.left === 0) {
          this.startedCallbacks = undefined;
          s.resolve();
        }
        return;
      }
      const job = thread.jobs.get(m.seq);
      if (!job) return;
      thread.jobs.delete(m.seq);
      const utf8 = Buffer.from(m.utf8.buffer, m.utf8.byteOffset, m.utf8.byteLength);
      job.groups.forEach((g, i) => this.deliver(g, { ...m.results[i]!, utf8 }));
    });
    let dead = false;
    const died = (err: unknown) => {
      if (dead) return;
      dead = true;
      const at = this.threads.indexOf(thread);
      if (at === -1) return; // closed
      this.crashes++;
      this.opts.onCrash?.(err);
      this.threads.splice(at, 1);
      if (!thread.ready && this.startedCallbacks) {
        this.startedCallbacks.reject(err);
        this.startedCallbacks = undefined;
      }
      const restart = () => {
        if (this.closed) return;
        this.threads.push(this.spawn());
        const waiting = this.stalled;
        this.stalled = [];
        if (waiting.length > 0) this.send(waiting);
      };
      if (thread.ready) restart();
      else {
        const t = setTimeout(() => {
          this.timers.delete(t);
          restart();
        }, RESPAWN_BROKEN_MS);
        this.timers.add(t);
      }
      // Redone group by group, so one poisonous read cannot take the others of its job with it.
      for (const job of thread.jobs.values())
        for (const g of job.groups) {
          if (g.retried) this.deliver(g, crashedGroup(g.frames.length, err));
          else {
            g.retried = true;
            this.send([g]);
          }
        }
      thread.jobs.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`parse thread exited with code ${code}`)));
    return thread;
  }
}

/** The compiled thread next to this file, or (running from source) the TypeScript one. */
function defaultScript(): string {
  const js = path.join(__dirname, 'parse-worker.js');
  return existsSync(js) ? js : path.join(__dirname, 'parse-worker.ts');
}
