import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { normalizeFingerprint } from '@citysoc/drills';
import { SyslogFramer, type FrameError } from '@citysoc/syslog';
import { type Logger } from '@citysoc/bus';
import { type ComponentMetrics } from '@citysoc/observability';
import { type Inflight } from '../../pipeline/inflight';
import { type FrameMeta, IngestFailure, type SyslogIngest } from '../../pipeline/ingest';
import { type SourceMonitor } from './monitor';
import { CidrSet, type FormatPin, TokenBucket } from './policy';

export interface TcpSourceOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  maxConnections: number;
  idleSeconds: number;
  inputName?: string;
  /** RFC 5425 syslog over TLS: the same framing inside the encrypted stream. */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  allow?: CidrSet;
  format?: FormatPin;
  monitor?: SourceMonitor;
}

/**
 * Syslog over TCP (RFC 6587): framing is detected per connection by SyslogFramer. When JetStream falls
 * behind, sockets are paused so TCP flow control pushes back on senders instead of us dropping lines.
 */
export class SyslogTcpSource {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly paused = new Set<net.Socket>();
  /** Sockets paused by their source's rate limit: they resume on their own timer, not on inflight drain. */
  private readonly throttled = new Set<net.Socket>();
  private readonly buckets = new Map<string, TokenBucket>();
  private unsubscribe?: () => void;

  constructor(
    private readonly opts: TcpSourceOptions,
    private readonly ingest: SyslogIngest,
    private readonly inflight: Inflight,
    private readonly metrics: ComponentMetrics,
    private readonly logger: Logger,
  ) {}

  get inputName(): string {
    return this.opts.inputName ?? (this.opts.tls ? 'syslog_tls' : 'syslog_tcp');
  }

  async start(): Promise<number> {
    this.unsubscribe = this.inflight.onDrain(() => {
      for (const s of this.paused) if (!this.throttled.has(s)) s.resume();
      this.paused.clear();
    });
    const t = this.opts.tls;
    const server = t
      ? tls.createServer(
          {
            cert: readFileSync(t.certFile),
            key: readFileSync(t.keyFile),
            minVersion: 'TLSv1.2',
            // With a client CA, only devices holding a certificate it signed may send.
            ...(t.clientCaFile
              ? { ca: readFileSync(t.clientCaFile), requestCert: true, rejectUnauthorized: true }
              : {}),
          },
          (socket) => this.onConnection(socket),
        )
      : net.createServer({ pauseOnConnect: false }, (socket) => this.onConnection(socket));
    // Checked before the TLS handshake: a refused address costs us no crypto.
    const allow = this.opts.allow ?? CidrSet.ANY;
    if (!allow.isOpen)
      server.prependListener('connection', (socket: net.Socket) => {
        if (!allow.has(socket.remoteAddress ?? '')) {
          this.opts.monitor?.refused.inc({ component: this.inputName, reason: 'not_allowed' });
          socket.destroy();
        }
      });
    server.on('drop', () =>
      this.opts.monitor?.refused.inc({ component: this.inputName, reason: 'max_connections' }),
    );
    server.on('tlsClientError', (err: Error) => {
      this.metrics.errors.inc({ component: this.inputName, error_type: 'tls_handshake' });
      this.logger.warn(`syslog TLS handshake failed: ${err.message}`);
    });
    server.maxConnections = this.opts.maxConnections;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.host, port: this.opts.port, ipv6Only: false }, () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    this.logger.log(`syslog ${this.opts.tls ? 'TLS' : 'TCP'} listening on [${this.opts.host}]:${port}`);
    return port;
  }

  private onConnection(socket: net.Socket): void {
    if (socket.destroyed) return;
    this.sockets.add(socket);
    const framer = new SyslogFramer({ maxFrameBytes: this.opts.maxFrameBytes });
    // The client certificate (after the handshake, so it is known here): a drill run may own it.
    const cert = this.opts.tls ? peerCertSha256(socket as tls.TLSSocket) : undefined;
    const base = {
      senderIp: socket.remoteAddress ?? 'unknown',
      senderPort: socket.remotePort ?? 0,
      transport: this.opts.tls ? ('tls' as const) : ('tcp' as const),
      inputName: this.inputName,
      ...(this.opts.format ? { format: this.opts.format } : {}),
      ...(cert ? { peerCertSha256: cert } : {}),
    };
    const limit = this.ingest.policyFor(base.senderIp).rateLimit;
    socket.setTimeout(this.opts.idleSeconds * 1000, () => socket.end());
    socket.on('data', (chunk: Buffer) => {
      const res = framer.push(chunk);
      this.dispatch(res, { ...base, receivedAt: new Date() });
      if (limit) this.throttle(socket, base.senderIp, limit, res.frames.length + res.errors.length);
      if (this.inflight.saturated && !socket.isPaused()) {
        socket.pause();
        this.paused.add(socket);
      }
    });
    socket.on('end', () => this.dispatch(framer.end(), { ...base, receivedAt: new Date() }));
    socket.on('error', (err) => {
      this.metrics.errors.inc({ component: this.inputName, error_type: 'socket' });
      this.logger.warn(`syslog TCP connection from ${base.senderIp} failed: ${err.message}`);
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.paused.delete(socket);
      this.throttled.delete(socket);
    });
  }

  /**
   * Per-source rate limit over TCP: the frames already read are accepted (nothing is dropped), and the
   * socket pauses until the source's bucket is out of debt — TCP flow control slows the sender down.
   */
  private throttle(
    socket: net.Socket,
    ip: string,
    limit: { perSecond: number; burst: number },
    frames: number,
  ): void {
    if (frames === 0) return;
    const now = Date.now();
    let b = this.buckets.get(ip);
    if (!b) {
      if (this.buckets.size >= 65_536) this.buckets.clear();
      b = new TokenBucket(limit, now);
      this.buckets.set(ip, b);
    }
    if (b.take(frames, now) || this.throttled.has(socket)) return;
    this.opts.monitor?.rateLimited.inc({ component: this.inputName, action: 'delayed' }, frames);
    this.throttled.add(socket);
    socket.pause();
    setTimeout(() => {
      this.throttled.delete(socket);
      if (!socket.destroyed && !this.inflight.saturated) socket.resume();
      else if (!socket.destroyed) this.paused.add(socket);
    }, b.waitMs(now)).unref();
  }

  private dispatch(res: { frames: Buffer[]; errors: FrameError[] }, meta: FrameMeta): void {
    const n = res.frames.length + res.errors.length;
    if (n === 0) return;
    void this.inflight
      .track(this.ingest.acceptAll(res.frames, res.errors, meta), n)
      .catch((e: unknown) => this.failed(e));
  }

  private failed(err: unknown): void {
    const count = err instanceof IngestFailure ? err.count : 1;
    this.metrics.errors.inc({ component: this.inputName, error_type: 'publish' }, count);
    this.logger.error(`accepted syslog frames could not be stored in JetStream: ${String(err)}`);
  }

  /** Stops accepting; open connections are ended so senders reconnect to another collector. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.end();
    setTimeout(() => this.sockets.forEach((s) => s.destroy()), 2000).unref();
    await closed;
  }
}

/** SHA-256 fingerprint of the certificate a TLS client presented, normalized; undefined without one. */
export function peerCertSha256(socket: tls.TLSSocket): string | undefined {
  const fp = socket.getPeerCertificate?.()?.fingerprint256;
  return typeof fp === 'string' ? normalizeFingerprint(fp) : undefined;
}
