import dgram from 'node:dgram';
import { type Bus, type Logger, openKv } from '@citysoc/bus';
import { type UnitRegistry } from '@citysoc/enrich';
import { type ComponentMetrics } from '@citysoc/observability';
import { type Inflight } from '../../pipeline/inflight';
import { kernelUdpDrops } from '../udp-drops/proc-net-udp';
import { ExporterAllowlist, exporterAddress } from './allowlist';
import { type BatchLimits } from '../../pipeline/batcher';
import { type DrillMarker } from '../../pipeline/drill-marker';
import { FlowIngest } from './ingest';
import { KvTemplateStore } from './kv-templates';
import { FlowMetrics } from './metrics';
import { FlowWorkerPool } from './worker-pool';

export interface FlowSourceOptions {
  host: string;
  /** -1 = off, 0 = any free port (tests). */
  netflowPort: number;
  ipfixPort: number;
  allow: readonly string[];
  recvBufferBytes: number;
  maxBacklog: number;
  pendingSets: number;
  pendingPerExporter: number;
  pendingSeconds: number;
  replicas: number;
  /** Records per JetStream message, linger and body size (CITYSOC_FLOW_BATCH_*). */
  batch?: BatchLimits;
  /** Decoding worker threads (CITYSOC_FLOW_WORKERS); 0 or absent = decode in the main thread. */
  workers?: number;
  /** The unit registry's file, which the workers load for themselves ('' = none). */
  unitsFile?: string;
}

/**
 * Longest stretch of decoding before the sockets are read again. libuv reads at most 32 datagrams per
 * socket per turn of the event loop, so the reading rate is 32 per slice: a short slice keeps it above
 * what exporters send while the decoding (the expensive part) catches up from the queue.
 */
const DRAIN_SLICE_MS = 1;

interface Received {
  msg: Buffer;
  address: string;
  port: number;
  inputName: string;
  receivedAt: number;
}

/**
 * NetFlow v5/v9 and IPFIX over UDP. Both listeners share one template store (NATS KV + memory) and one
 * ingest; every version is decoded on either port, the port only names the input in metrics. The socket
 * handler only queues the datagram: decoding runs in slices of `DRAIN_SLICE` datagrams between socket
 * reads, so a burst moves from the kernel's receive buffer (capped by net.core.rmem_max) into this
 * process instead of overflowing it. UDP has no flow control: past `maxBacklog` datagrams queued or
 * awaiting JetStream, drops are counted (reason=backpressure), and the kernel's own drops are read from
 * /proc per listener.
 */
export class FlowSource {
  private readonly sockets: dgram.Socket[] = [];
  private timer?: NodeJS.Timeout;
  private store?: KvTemplateStore;
  private ingest?: FlowIngest;
  private pool?: FlowWorkerPool;
  /** Drill attribution, handed to the ingest (set before start). */
  drills?: DrillMarker;
  private readonly allow: ExporterAllowlist;
  /** Datagrams received and not decoded yet (`queue[queueHead…]`). */
  private queue: Received[] = [];
  private queueHead = 0;
  private draining?: NodeJS.Immediate;

  constructor(
    private readonly opts: FlowSourceOptions,
    private readonly bus: Bus,
    private readonly inflight: Inflight,
    private readonly metrics: ComponentMetrics,
    private readonly logger: Logger,
    private readonly units: UnitRegistry,
  ) {
    this.allow = new ExporterAllowlist(opts.allow);
  }

  async start(): Promise<{ netflow?: number; ipfix?: number }> {
    const flowMetrics = new FlowMetrics(this.metrics.registry, () => this.store?.stats);
    const kv = await openKv(this.bus, 'flow-templates', this.opts.replicas);
    const store = new KvTemplateStore(
      kv,
      {
        maxPendingSets: this.opts.pendingSets,
        maxPendingSetsPerExporter: this.opts.pendingPerExporter,
        maxPendingBytes: Math.max(64 * 1024, this.opts.pendingSets * 1500),
        pendingTtlMs: this.opts.pendingSeconds * 1000,
        onExpired: (set) => {
          const ingest = this.ingest;
          if (!ingest) return;
          void this.inflight.track(ingest.deadLetterExpired(set, 'flow')).catch((err: unknown) => {
            this.metrics.errors.inc({ component: 'flow', error_type: 'publish' });
            this.logger.error(`an expired flow data set could not be dead-lettered: ${String(err)}`);
          });
        },
      },
      {
        onTemplate: (scope, templateId) => {
          const ingest = this.ingest;
          if (!ingest) return;
          void this.inflight.track(ingest.releaseHeld(scope, templateId, 'flow')).catch((err: unknown) => {
            this.metrics.errors.inc({ component: 'flow', error_type: 'publish' });
            this.logger.error(`flow data released by a shared template could not be stored: ${String(err)}`);
          });
        },
        onError: (what, err) => {
          flowMetrics.storeErrors.inc({ op: what.split(' ')[0] ?? 'other' });
          this.logger.error(`flow template store: ${what}: ${String(err)}`);
        },
      },
    );
    this.store = store;
    await store.start();
    const ingest = new FlowIngest(
      this.bus.publisher,
      this.bus.names,
      this.metrics,
      flowMetrics,
      store,
      this.units,
      this.opts.batch,
    );
    ingest.drills = this.drills;
    this.ingest = ingest;
    if ((this.opts.workers ?? 0) > 0) {
      this.pool = new FlowWorkerPool({
        workers: this.opts.workers!,
        unitsFile: this.opts.unitsFile ?? '',
        maxBytes: ingest.maxBytes,
        snapshot: () => store.snapshot(),
        // Decoding reads only the exporter and the time; the listener's metadata stays with the datagram.
        redo: (raw, exporter, receivedAt) =>
          ingest.decodeHere(raw, { exporter, port: 0, inputName: 'flow', receivedAt }),
        onRestart: (err) => {
          flowMetrics.workerRestarts.inc();
          this.logger.error(
            `a flow decoding worker died and was replaced; its datagrams are decoded here: ${String(err)}`,
          );
        },
      });
      ingest.usePool(this.pool);
      this.logger.log(`flow: ${this.opts.workers} decoding worker thread(s)`);
    }
    // Data held for a template is expired on a clock too, so a quiet exporter's sets still reach the dead letters.
    this.timer = setInterval(() => store.expire(Date.now()), 1000);
    this.timer.unref();
    this.logger.log(`flow templates: ${store.loaded} entries loaded from NATS KV`);
    const ports: { netflow?: number; ipfix?: number } = {};
    if (this.opts.netflowPort >= 0)
      ports.netflow = await this.listen(this.opts.netflowPort, 'netflow', ingest, flowMetrics);
    if (this.opts.ipfixPort >= 0)
      ports.ipfix = await this.listen(this.opts.ipfixPort, 'ipfix', ingest, flowMetrics);
    return ports;
  }

  private async listen(
    port: number,
    inputName: string,
    ingest: FlowIngest,
    fm: FlowMetrics,
  ): Promise<number> {
    const ipv6 = this.opts.host.includes(':');
    const socket = dgram.createSocket({
      type: ipv6 ? 'udp6' : 'udp4',
      ipv6Only: false,
      recvBufferSize: this.opts.recvBufferBytes,
    });
    this.sockets.push(socket);
    socket.on('message', (msg, rinfo) => {
      if (!this.allow.open && !this.allow.allows(rinfo.address)) {
        fm.refused.inc({ input: inputName });
        return;
      }
      if (this.inflight.count + this.queue.length - this.queueHead >= this.opts.maxBacklog) {
        this.metrics.received.inc({ component: inputName });
        this.metrics.discarded.inc({ component: inputName, reason: 'backpressure' });
        return;
      }
      this.queue.push({ msg, address: rinfo.address, port: rinfo.port, inputName, receivedAt: Date.now() });
      this.draining ??= setImmediate(() => this.drain(ingest, DRAIN_SLICE_MS));
    });
    socket.on('error', (err) => {
      this.metrics.errors.inc({ component: inputName, error_type: 'socket' });
      this.logger.error(`${inputName} UDP socket error: ${err.message}`);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, this.opts.host, () => resolve());
    });
    const bound = socket.address().port;
    const drops = this.metrics.kernelDrops;
    this.metrics.beforeCollect(() => {
      const n = kernelUdpDrops(bound);
      if (n !== undefined) drops.set({ component: inputName }, n);
    });
    // Linux doubles the size asked for and caps it at 2 × net.core.rmem_max: say so when the cap bites,
    // since bursts beyond the buffer are lost in the kernel.
    const rcvbuf = socket.getRecvBufferSize();
    const note =
      rcvbuf < this.opts.recvBufferBytes
        ? ` (receive buffer ${rcvbuf} bytes, less than the ${this.opts.recvBufferBytes} asked: raise net.core.rmem_max)`
        : ` (receive buffer ${rcvbuf} bytes)`;
    this.logger.log(`${inputName} UDP listening on [${this.opts.host}]:${bound}${note}`);
    return bound;
  }

  /** Decodes queued datagrams for up to `ms`, then yields to the sockets (setImmediate runs after I/O polling). */
  private drain(ingest: FlowIngest, ms: number): void {
    this.draining = undefined;
    const until = performance.now() + ms;
    while (this.queueHead < this.queue.length && performance.now() < until) {
      const d = this.queue[this.queueHead++]!;
      const meta = {
        exporter: exporterAddress(d.address),
        port: d.port,
        inputName: d.inputName,
        receivedAt: new Date(d.receivedAt),
      };
      void this.inflight.track(ingest.accept(d.msg, meta)).catch((err: unknown) => {
        this.metrics.errors.inc({ component: d.inputName, error_type: 'publish' });
        this.logger.error(`an accepted flow datagram could not be stored in JetStream: ${String(err)}`);
      });
    }
    ingest.dispatch();
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else {
      if (this.queueHead >= 4096) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      this.draining = setImmediate(() => this.drain(ingest, ms));
    }
  }

  /** Whether decoding workers are configured and at least one has loaded (tests, diagnostics). */
  get workersReady(): boolean {
    return this.pool?.accepting ?? false;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.sockets) await new Promise<void>((resolve) => s.close(() => resolve()));
    // Datagrams already read are decoded and their batches published now (the collector then waits for
    // everything in flight before it disconnects).
    if (this.draining) clearImmediate(this.draining);
    if (this.ingest) this.drain(this.ingest, Number.POSITIVE_INFINITY);
    // The workers answer what they were given before they stop.
    if (this.ingest && this.pool) await this.ingest.idle();
    void this.pool?.stop();
    void this.ingest?.flush();
    // Sets still waiting for a template would die with this process: dead-letter them now (the collector
    // waits for in-flight work before it disconnects).
    this.store?.expire(Number.MAX_SAFE_INTEGER);
    this.store?.stop();
  }
}
