import net from 'node:net';
import { busNames, type JetStreamPublisher, type Logger, type OutMessage } from '@citysoc/bus';
import { ComponentMetrics } from '@citysoc/observability';
import { EVENT_COUNT_HEADER } from '../../pipeline/batcher';
import { Inflight } from '../../pipeline/inflight';
import { SyslogIngest } from '../../pipeline/ingest';
import { ParsePool, runLimits } from '../../pipeline/parse-pool';
import { SyslogTcpSource } from './tcp.source';

/** Counts the most frames ever in flight: the memory bound the back-pressure promises. */
class RecordingInflight extends Inflight {
  max = 0;
  override track(p: Promise<void>, count = 1): Promise<void> {
    const done = super.track(p, count);
    this.max = Math.max(this.max, this.count);
    return done;
  }
}

const quiet: Logger = { log: () => undefined, warn: () => undefined, error: () => undefined };
const BATCH = { events: 256, ms: 5, bytes: 512 * 1024 };

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each([
  ['on the main thread', 0],
  ['with parse threads', 2],
])('when JetStream stalls under a TCP sender (parsing %s)', (_name, threads) => {
  it('pauses reading so frames in flight stay bounded, then stores every frame once', async () => {
    // A store that acknowledges nothing until released: the slowest JetStream there is.
    let open = false;
    const waiting: Array<() => void> = [];
    const stored: OutMessage[] = [];
    const publisher = {
      publish: (m: OutMessage) => {
        stored.push(m);
        return open
          ? Promise.resolve({ seq: stored.length })
          : new Promise((r) => waiting.push(() => r({ seq: stored.length })));
      },
    };
    const pool = threads > 0 ? new ParsePool({ threads, ...runLimits(BATCH) }) : undefined;
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
      BATCH,
      pool,
    );
    const high = 2000;
    const inflight = new RecordingInflight(high);
    const source = new SyslogTcpSource(
      { host: '127.0.0.1', port: 0, maxFrameBytes: 64 * 1024, maxConnections: 10, idleSeconds: 60 },
      ingest,
      inflight,
      metrics,
      quiet,
    );
    const port = await source.start();
    try {
      // 12 MB: more than loopback's socket buffers hold, so the sender must wait for the collector.
      const n = 60_000;
      const lines: string[] = [];
      for (let i = 0; i < n; i++)
        lines.push(`<134>1 2026-11-27T10:00:00Z h app - - - line ${i} ${'x'.repeat(150)}\n`);
      const sender = net.connect({ host: '127.0.0.1', port });
      await new Promise<void>((r) => sender.once('connect', () => r()));
      const flushed = new Promise<void>((r) => sender.end(lines.join(''), () => r()));

      await until(() => inflight.saturated, 'the collector to fill its in-flight window');
      // Nothing is acknowledged, so nothing leaves the window: the sender is stuck behind TCP flow control.
      await until(() => sender.writableLength > 0, 'the sender to be held back');
      expect(inflight.count).toBeLessThan(n);

      open = true;
      waiting.splice(0).forEach((f) => f());
      await flushed;
      const events = () => stored.reduce((a, m) => a + Number(m.headers?.[EVENT_COUNT_HEADER] ?? 0), 0);
      await until(() => events() >= n, `${n} events stored`);
      await inflight.idle();

      // Bounded: the window plus the frames of the reads already under way when it filled (64 KiB each
      // at most, ~170 frames here), never the sender's backlog.
      expect(inflight.max).toBeLessThan(high + 2000);
      const messages = stored.flatMap((m) => {
        const v: unknown = JSON.parse(Buffer.from(m.data).toString());
        return (Array.isArray(v) ? v : [v]) as Array<{ message: string; event: { id: string } }>;
      });
      expect(messages).toHaveLength(n);
      expect(new Set(messages.map((e) => e.event.id)).size).toBe(n);
      expect(messages[0]!.message.startsWith('line 0 ')).toBe(true);
      expect(messages[n - 1]!.message.startsWith(`line ${n - 1} `)).toBe(true);
    } finally {
      await source.stop();
      await ingest.flush();
      await pool?.close();
    }
  }, 120_000);
});
