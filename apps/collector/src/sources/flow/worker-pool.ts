import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type TemplateChange } from '@citysoc/flow';
import { type RenderedDatagram } from './render';
import { type WorkerIn, type WorkerOut, type WorkerSetup } from './worker-protocol';

/** Datagrams sent to a worker in one message (fewer messages, less per-message overhead). */
const BATCH_DATAGRAMS = 64;

export interface PoolItem {
  raw: Buffer;
  exporter: string;
  receivedAt: Date;
  resolve(r: RenderedDatagram): void;
}

interface Slot {
  worker: Worker;
  /** Loaded: until then (start, restart) datagrams are decoded in the main thread rather than wait. */
  ready: boolean;
  /** Batches posted and not answered yet, by id. */
  pending: Map<number, PoolItem[]>;
}

export interface FlowWorkerPoolOptions {
  workers: number;
  unitsFile: string;
  maxBytes: number;
  /** Every template and fact the store holds, to seed a new (or restarted) worker. */
  snapshot(): TemplateChange[];
  /** Decodes in this thread what a dead worker had not answered (the store knows every template). */
  redo(raw: Buffer, exporter: string, receivedAt: Date): RenderedDatagram;
  onRestart(err: unknown): void;
}

/**
 * The flow decoding workers. Data-only datagrams (`dataOnlyDomain`) are batched and dealt round robin, so
 * even a single exporter's stream uses every core; template and facts changes are broadcast to every
 * worker as the store makes them, after the datagrams that came before them are posted (a worker's
 * messages arrive in order), so a worker always decodes a datagram with the templates the main thread had
 * when it received it. A worker that dies is replaced (seeded from the store) and its unanswered batches
 * are decoded in this thread: nothing is lost, the records only come later.
 */
export class FlowWorkerPool {
  private readonly slots: Slot[] = [];
  /** The slots whose worker is loaded, in the order batches are dealt to them. */
  private readonly ready: Slot[] = [];
  private next = 0;
  private batchId = 0;
  private building: PoolItem[] = [];
  private stopping = false;
  restarts = 0;

  constructor(private readonly opts: FlowWorkerPoolOptions) {
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Whether a worker can take datagrams now (false while every worker is starting). */
  get accepting(): boolean {
    return this.ready.length > 0 || this.building.length > 0;
  }

  private spawn(): Slot {
    const worker = startWorker({ unitsFile: this.opts.unitsFile });
    worker.unref();
    const slot: Slot = { worker, ready: false, pending: new Map() };
    const seed = this.opts.snapshot();
    if (seed.length > 0) worker.postMessage({ t: 'changes', changes: seed } satisfies WorkerIn);
    let failed = false;
    worker.on('message', (m: WorkerOut) => {
      // A worker's last messages can be delivered after its 'error': a 'ready' then would put a dead slot
      // back in the rotation, and every batch dealt to it would wait forever (seen as a hung test).
      if (failed) return;
      if (m.t === 'ready') {
        slot.ready = true;
        this.ready.push(slot);
        return;
      }
      const items = slot.pending.get(m.id);
      if (!items) return;
      slot.pending.delete(m.id);
      items.forEach((it, i) => it.resolve(m.results[i]!));
    });
    const fail = (err: unknown) => {
      if (failed || this.stopping) return;
      failed = true;
      this.opts.onRestart(err);
      this.restarts++;
      const r = this.ready.indexOf(slot);
      if (r >= 0) this.ready.splice(r, 1);
      const idx = this.slots.indexOf(slot);
      // The replacement is seeded before the lost batches are redone here.
      if (idx >= 0) this.slots[idx] = this.spawn();
      void worker.terminate();
      for (const items of slot.pending.values())
        for (const it of items) it.resolve(this.opts.redo(it.raw, it.exporter, it.receivedAt));
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`flow worker exited with code ${code}`)));
    return slot;
  }

  /** Queues a data-only datagram; resolves with its rendered records. */
  submit(raw: Buffer, exporter: string, receivedAt: Date): Promise<RenderedDatagram> {
    return new Promise((resolve) => {
      this.building.push({ raw, exporter, receivedAt, resolve });
      if (this.building.length >= BATCH_DATAGRAMS) this.dispatch();
    });
  }

  /** Posts the batch being built (end of a read slice, or before the templates change). */
  dispatch(): void {
    if (this.building.length === 0) return;
    const items = this.building;
    this.building = [];
    // `accepting` was true when these were queued, and a ready worker only leaves by dying (then its
    // replacement's batches are redone here), so there is one unless all died meanwhile.
    const slot = this.ready[this.next++ % this.ready.length];
    if (!slot) {
      for (const it of items) it.resolve(this.opts.redo(it.raw, it.exporter, it.receivedAt));
      return;
    }
    let total = 0;
    for (const it of items) total += it.raw.length;
    const data = new Uint8Array(total);
    const meta: Extract<WorkerIn, { t: 'batch' }>['items'] = [];
    let off = 0;
    for (const it of items) {
      data.set(it.raw, off);
      meta.push({ off, len: it.raw.length, exporter: it.exporter, receivedAt: it.receivedAt.getTime() });
      off += it.raw.length;
    }
    const id = ++this.batchId;
    slot.pending.set(id, items);
    const msg: WorkerIn = { t: 'batch', id, data, items: meta, maxBytes: this.opts.maxBytes };
    slot.worker.postMessage(msg, [data.buffer]);
  }

  /** A template or facts change: every worker gets it after the datagrams received before it. */
  broadcast(change: TemplateChange): void {
    this.dispatch();
    const msg: WorkerIn = { t: 'changes', changes: [change] };
    for (const s of this.slots) s.worker.postMessage(msg);
  }

  /** Tests: makes worker `i` die with batches possibly in flight. */
  crash(i: number): void {
    this.slots[i]?.worker.postMessage({ t: 'crash' } satisfies WorkerIn);
  }

  async stop(): Promise<void> {
    this.dispatch();
    this.stopping = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/**
 * The worker script: the compiled one beside this file; under ts-jest (sources, no build) the TypeScript
 * is transpiled on load by a small require hook with the repository's `@citysoc/*` aliases.
 */
function startWorker(setup: WorkerSetup): Worker {
  const js = path.join(__dirname, 'flow-worker.js');
  if (existsSync(js)) return new Worker(js, { workerData: setup });
  const ts = path.join(__dirname, 'flow-worker.ts');
  const root = path.resolve(__dirname, '../../../../..');
  const boot = `
const Module = require('module');
const fs = require('fs');
const path = require('path');
const ts = require(require.resolve('typescript', { paths: [${JSON.stringify(root)}] }));
const root = ${JSON.stringify(root)};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (req, parent, ...rest) {
  const m = /^@citysoc\\/([a-z-]+)$/.exec(req);
  if (m) req = path.join(root, 'libs', m[1], 'src', 'index.ts');
  else if (req.startsWith('.') && parent && parent.filename && parent.filename.endsWith('.ts')) {
    const base = path.resolve(path.dirname(parent.filename), req);
    for (const c of [base + '.ts', path.join(base, 'index.ts')]) if (fs.existsSync(c)) { req = c; break; }
  }
  return resolve.call(this, req, parent, ...rest);
};
require.extensions['.ts'] = (mod, file) => {
  const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
  });
  mod._compile(out.outputText, file);
};
require(${JSON.stringify(ts)});
`;
  return new Worker(boot, { eval: true, workerData: setup });
}
