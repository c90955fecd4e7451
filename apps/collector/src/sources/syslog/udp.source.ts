import dgram from 'node:dgram';
import { type Logger } from '@citysoc/bus';
import { type ComponentMetrics } from '@citysoc/observability';
import { type Inflight } from '../../pipeline/inflight';
import { kernelUdpDrops } from '../udp-drops/proc-net-udp';
import { type SyslogIngest } from '../../pipeline/ingest';
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
    socket.on('message', (msg, rinfo) => {
      if (!allow.has(rinfo.address)) {
        this.opts.monitor?.refused.inc({ component: this.inputName, reason: 'not_allowed' });
        return;
      }
      if (!this.withinRate(rinfo.address)) {
        this.metrics.received.inc({ component: this.inputName });
        this.metrics.discarded.inc({ component: this.inputName, reason: 'rate_limited' });
        this.opts.monitor?.rateLimited.inc({ component: this.inputName, action: 'dropped' });
        return;
      }
      if (this.inflight.count >= this.opts.maxBacklog) {
        this.metrics.received.inc({ component: this.inputName });
        this.metrics.discarded.inc({ component: this.inputName, reason: 'backpressure' });
        return;
      }
      const meta = {
        senderIp: rinfo.address,
        senderPort: rinfo.port,
        transport: 'udp' as const,
        inputName: this.inputName,
        receivedAt: new Date(),
        ...(this.opts.format ? { format: this.opts.format } : {}),
      };
      const max = this.opts.maxFrameBytes;
      const work =
        max !== undefined && msg.length > max
          ? this.ingest.rejectFrame(
              {
                code: 'frame_too_large',
                reason: `datagram of ${msg.length} bytes is longer than ${max}`,
                raw: msg.subarray(0, max),
              },
              meta,
            )
          : this.ingest.accept(msg, meta);
      void this.inflight.track(work).catch((err: unknown) => {
        this.metrics.errors.inc({ component: this.inputName, error_type: 'publish' });
        this.logger.error(`an accepted syslog datagram could not be stored in JetStream: ${String(err)}`);
      });
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
    const drops = this.metrics.kernelDrops;
    this.metrics.beforeCollect(() => {
      const n = kernelUdpDrops(port);
      if (n !== undefined) drops.set({ component: this.inputName }, n);
    });
    this.logger.log(`syslog UDP listening on [${this.opts.host}]:${port}`);
    return port;
  }

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
  }
}
