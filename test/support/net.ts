import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/** A per-test prefix for streams, subjects, durables and queues: tests never see each other's data. */
export function uniquePrefix(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}_`;
}

const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  // A port free for both TCP and UDP, since the syslog listeners share one number. The OS may offer the
  // same ephemeral port again once we release it, so never hand one out twice in this process.
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Polls until `fn` returns a value that is not undefined/false, or fails with the last observation. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function octetCount(lines: string[]): Buffer {
  return Buffer.concat(lines.map((l) => Buffer.from(`${Buffer.byteLength(l)} ${l}`)));
}

export function sendTcp(port: number, payload: Buffer | string, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => s.end(payload));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

export async function sendUdp(
  port: number,
  datagrams: Array<Buffer | string>,
  host = '127.0.0.1',
): Promise<void> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const d of datagrams)
    await new Promise<void>((r, j) => s.send(d, port, host, (e) => (e ? j(e) : r())));
  s.close();
}
