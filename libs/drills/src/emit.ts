import { X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { frameSyslog } from './syslog-format';

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * A sender bound to its own local port before the run registers, so the allocation names the exact
 * (address, port) the listener will see. Stream senders keep one connection for the whole run, as a
 * relay would.
 */
export interface Sender {
  readonly transport: 'udp' | 'tcp' | 'tls' | 'flow';
  readonly localAddress: string;
  readonly localPort: number;
  send(payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface TlsClientOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  /** Only for labs with self-signed listeners; default true. */
  rejectUnauthorized?: boolean;
}

export async function openUdpSender(
  target: Endpoint,
  transport: 'udp' | 'flow',
  bindAddress = '0.0.0.0',
): Promise<Sender> {
  const sock = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: bindAddress, port: 0 }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const local = sock.address();
  return {
    transport,
    localAddress: bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress,
    localPort: local.port,
    send: (payload) =>
      new Promise<void>((resolve, reject) =>
        sock.send(payload, target.port, target.host, (err) => (err ? reject(err) : resolve())),
      ),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

function streamSender(sock: net.Socket, transport: 'tcp' | 'tls'): Sender {
  let failure: Error | undefined;
  sock.on('error', (e) => (failure = e));
  return {
    transport,
    localAddress: sock.localAddress ?? '127.0.0.1',
    localPort: sock.localPort ?? 0,
    send: (payload) =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        sock.write(payload, (err) => (err ? reject(err) : resolve()));
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (sock.destroyed) return resolve();
        sock.end(() => resolve());
      }),
  };
}

export async function openTcpSender(target: Endpoint): Promise<Sender> {
  const sock = net.connect({ host: target.host, port: target.port });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.setNoDelay(true);
  return streamSender(sock, 'tcp');
}

/** SHA-256 fingerprint (64 lowercase hex) of a PEM certificate: what a drill registers as its client cert. */
export function certFingerprint(pem: Buffer | string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

export async function openTlsSender(target: Endpoint, opts: TlsClientOptions): Promise<Sender> {
  const sock = tls.connect({
    host: target.host,
    port: target.port,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert } : {}),
    ...(opts.key ? { key: opts.key } : {}),
    servername: opts.servername ?? (net.isIP(target.host) ? undefined : target.host),
    rejectUnauthorized: opts.rejectUnauthorized ?? true,
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.once('secureConnect', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return streamSender(sock, 'tls');
}

export { frameSyslog };
