import dgram from 'node:dgram';
import { type Logger } from '@citysoc/bus';
import { type ComponentMetrics } from '@citysoc/observability';
import { type Inflight } from '../../pipeline/inflight';
import { kernelUdpDrops } from '../udp-drops/proc-net-udp';
import { type FrameError } from '@citysoc/syslog';
import { type FrameMeta, IngestFailure, type SyslogIngest } from '../../pipeline/ingest';
import { type SourceMonitor } from './monitor';
import { CidrSet, type FormatPin, TokenBucket } from './policy';

export interface UdpSourceOptions {
  host: string;
  port: number;
  recvBufferBytes: number;
  maxBacklog: number;
  inputName?: string;
  /** Longer datagrams are dead-lettered (frame_too_large) with their first maxFrameBytes. */
  maxFrameBytes?: number;
  allow?: CidrSet;
  format?: FormatPin;
  monitor?: SourceMonitor;
}

/**
 * Syslog over UDP: one datagram is one message. UDP has no flow control, so when JetStream falls behind we
 * hold up to maxBacklog datagrams and beyond that count every drop (reason=backpressure) rather than hide it.
 */
export class SyslogUdpSource {
  private socket?: dgram.Socket;
  private readonly buckets = new Map<string, TokenBucket>();
  /** Datagrams read but not yet handed to the ingest (one loop turn's worth). */
  private queue: Array<{ msg: Buffer; address: string; port: number }> = [];

  constructor(
    private readonly opts: UdpSourceOptions,
    private readonly ingest: SyslogIngest,
    private readonly inflight: Inflight,
    private readonly metrics: ComponentMetrics,
    private readonly logger: Logger,
  ) {}

  get inputName(): string {
    return this.opts.inputName ?? 'syslog_udp';
  }

  async start(): Promise<number> {
    const ipv6 = this.opts.host.includes(':');
    const socket = dgram.createSocket({
      type: ipv6 ? 'udp6' : 'udp4',
      ipv6Only: false,
      recvBufferSize: this.opts.recvBufferBytes,
    });
    this.socket = socket;
    const allow = this.opts.allow ?? CidrSet.ANY;
    // The handler only queues; what one poll read is parsed together right after (setImmediate): one policy
    // lookup, metric update and promise per sender and turn instead of per datagram, so more of the core
    // is left for reading before the kernel buffer fills.
    socket.on('message', (msg, rinfo) => {
      if (!allow.isOpen && !allow.has(rinfo.address)) {
        this.opts.monitor?.refused.inc({ component: this.inputName, reason: 'not_allowed' });
        return;
      }
      this.queue.push({ msg, address: rinfo.address, port: rinfo.port });
      if (this.queue.length === 1) setImmediate(this.drain);
    });
    socket.on('error', (err) => {
      this.metrics.errors.inc({ component: this.inputName, error_type: 'socket' });
      this.logger.error(`syslog UDP socket error: ${err.message}`);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.opts.port, this.opts.host, () => resolve());
    });
    const port = socket.address().port;
    // Linux caps SO_RCVBUF at net.core.rmem_max (and reports twice what it grants); Node cannot force more.
    const granted = socket.getRecvBufferSize() / 2;
    if (granted < this.opts.recvBufferBytes)
      this.logger.warn(
        `syslog UDP receive buffer is ${granted} bytes, not the ${this.opts.recvBufferBytes} configured: ` +
          `the kernel caps it at net.core.rmem_max (sysctl -w net.core.rmem_max=${this.opts.recvBufferBytes})`,
      );
    const drops = this.metrics.kernelDrops;
    this.metrics.beforeCollect(() => {
      const n = kernelUdpDrops(port);
      if (n !== undefined) drops.set({ component: this.inputName }, n);
    });
    this.logger.log(`syslog UDP listening on [${this.opts.host}]:${port}`);
    return port;
  }

  /**
   * Hands the queued datagrams to the ingest, one call per sender address and port (what one TCP read is):
   * rate limits, the backlog bound and the size limit still apply datagram by datagram.
   */
  private readonly drain = (): void => {
    const queue = this.queue;
    this.queue = [];
    const receivedAt = new Date();
    const component = this.inputName;
    const max = this.opts.maxFrameBytes;
    const groups = new Map<string, { frames: Buffer[]; errors: FrameError[]; meta: FrameMeta }>();
    let backlog = this.inflight.count;
    let rateLimited = 0;
    let overflow = 0;
    for (const { msg, address, port } of queue) {
      if (!this.withinRate(address)) {
        rateLimited++;
        continue;
      }
      if (backlog >= this.opts.maxBacklog) {
        overflow++;
        continue;
      }
      backlog++;
      const key = `${address} ${port}`;
      let g = groups.get(key);
      if (!g) {
        g = {
          frames: [],
          errors: [],
          meta: {
            senderIp: address,
            senderPort: port,
            transport: 'udp',
            inputName: component,
            receivedAt,
            ...(this.opts.format ? { format: this.opts.format } : {}),
          },
        };
        groups.set(key, g);
      }
      if (max !== undefined && msg.length > max)
        g.errors.push({
          code: 'frame_too_large',
          reason: `datagram of ${msg.length} bytes is longer than ${max}`,
          raw: msg.subarray(0, max),
        });
      else g.frames.push(msg);
    }
    if (rateLimited > 0) {
      this.metrics.received.inc({ component }, rateLimited);
      this.metrics.discarded.inc({ component, reason: 'rate_limited' }, rateLimited);
      this.opts.monitor?.rateLimited.inc({ component, action: 'dropped' }, rateLimited);
    }
    if (overflow > 0) {
      this.metrics.received.inc({ component }, overflow);
      this.metrics.discarded.inc({ component, reason: 'backpressure' }, overflow);
    }
    for (const g of groups.values())
      void this.inflight
        .track(this.ingest.acceptAll(g.frames, g.errors, g.meta), g.frames.length + g.errors.length)
        .catch((err: unknown) => {
          const count = err instanceof IngestFailure ? err.count : 1;
          this.metrics.errors.inc({ component, error_type: 'publish' }, count);
          this.logger.error(`accepted syslog datagrams could not be stored in JetStream: ${String(err)}`);
        });
  };

  /** Per-source token bucket; UDP cannot push back, so datagrams over the limit are dropped and counted. */
  private withinRate(ip: string): boolean {
    const limit = this.ingest.policyFor(ip).rateLimit;
    if (!limit) return true;
    const now = Date.now();
    let b = this.buckets.get(ip);
    if (!b) {
      if (this.buckets.size >= 65_536) this.buckets.clear();
      b = new TokenBucket(limit, now);
      this.buckets.set(ip, b);
    }
    return b.tryTake(now);
  }

  async stop(): Promise<void> {
    const s = this.socket;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    // Datagrams already read are ingested now, so the shutdown's wait for in-flight work covers them.
    if (this.queue.length > 0) this.drain();
  }
}
