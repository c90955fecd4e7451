import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { busNames, type JetStreamPublisher, type Logger, type OutMessage } from '@citysoc/bus';
import { ComponentMetrics } from '@citysoc/observability';
import { Inflight } from '../../pipeline/inflight';
import { SyslogIngest } from '../../pipeline/ingest';
import { SyslogUdpSource } from './udp.source';

/** Real UDP sockets on loopback; the store is an in-memory publisher (JetStream is covered by listeners.int). */
function setup(opts: { recvBufferBytes?: number; maxBacklog?: number; hold?: boolean } = {}) {
  const stored: OutMessage[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const publisher = {
    publish: async (m: OutMessage) => {
      if (opts.hold) await held;
      stored.push(m);
      return { seq: stored.length };
    },
  };
  const warnings: string[] = [];
  const logger: Logger = { log: () => undefined, warn: (m) => warnings.push(m), error: () => undefined };
  const metrics = new ComponentMetrics('collector');
  const ingest = new SyslogIngest(
    publisher as unknown as JetStreamPublisher,
    busNames('T_'),
    metrics,
    'UTC',
    undefined,
    undefined,
    undefined,
    0,
    { events: 1000, ms: 0, bytes: 1 << 20 },
  );
  const source = new SyslogUdpSource(
    {
      host: '127.0.0.1',
      port: 0,
      recvBufferBytes: opts.recvBufferBytes ?? 1 << 20,
      maxBacklog: opts.maxBacklog ?? 50_000,
    },
    ingest,
    new Inflight(50_000),
    metrics,
    logger,
  );
  const events = () =>
    stored.flatMap((m) => {
      const v: unknown = JSON.parse(Buffer.from(m.data).toString());
      return (Array.isArray(v) ? v : [v]) as Array<{ message: string; log: { source: { address: string } } }>;
    });
  return { source, stored, events, warnings, metrics, release: () => release() };
}

async function sendFrom(lines: string[], port: number): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  for (const l of lines) await new Promise<void>((r) => s.send(l, port, '127.0.0.1', () => r()));
  const own = s.address().port;
  s.close();
  return own;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('when datagrams from several senders arrive together', () => {
  it('keeps each datagram with its own sender address and port', async () => {
    const t = setup();
    const port = await t.source.start();
    try {
      const [a, b] = await Promise.all([
        sendFrom(['<13>1 - h app - - - a1', '<13>1 - h app - - - a2'], port),
        sendFrom(['<13>1 - h app - - - b1'], port),
      ]);
      await until(() => t.events().length === 3, 'three events');
      const from = Object.fromEntries(t.events().map((e) => [e.message, e.log.source.address]));
      expect(from).toEqual({
        a1: `127.0.0.1:${a}`,
        a2: `127.0.0.1:${a}`,
        b1: `127.0.0.1:${b}`,
      });
    } finally {
      await t.source.stop();
    }
  });

  it('counts datagrams beyond the backlog as discarded while the store is slow, and stores the rest', async () => {
    const t = setup({ maxBacklog: 2, hold: true });
    const port = await t.source.start();
    try {
      await sendFrom(['<13>1 - h app - - - 1', '<13>1 - h app - - - 2', '<13>1 - h app - - - 3'], port);
      const discarded = async () =>
        (await t.metrics.discarded.get()).values.find((v) => v.labels.reason === 'backpressure')?.value ?? 0;
      const end = Date.now() + 10_000;
      while ((await discarded()) < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(await discarded()).toBe(1);
      t.release();
      await until(() => t.events().length === 2, 'two events');
    } finally {
      t.release();
      await t.source.stop();
    }
  });
});

describe('when the kernel grants a smaller UDP receive buffer than configured', () => {
  const rmemMax = (() => {
    try {
      return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    } catch {
      return undefined;
    }
  })();
  const maybe = rmemMax !== undefined && rmemMax < 1 << 30 ? it : it.skip;

  maybe('says so at start, naming net.core.rmem_max', async () => {
    const t = setup({ recvBufferBytes: 1 << 30 });
    await t.source.start();
    await t.source.stop();
    expect(t.warnings.join('\n')).toMatch(
      /receive buffer is \d+ bytes, not the 1073741824 configured.*rmem_max/,
    );
  });

  it('stays quiet when it grants what was asked', async () => {
    const t = setup({ recvBufferBytes: 65536 });
    await t.source.start();
    await t.source.stop();
    expect(t.warnings).toEqual([]);
  });
});
