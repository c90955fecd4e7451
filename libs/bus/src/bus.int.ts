import { type JsMsg } from 'nats';
import { cleanupStreams, readStream, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';
import { DurableConsumer, ensureConsumer } from './consumer';
import { type Bus, openBus } from './open';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('the JetStream bus', () => {
  let prefix: string;
  let bus: Bus;
  beforeEach(async () => {
    prefix = uniquePrefix();
    bus = await openBus(testBusSettings(prefix), 'test');
  });
  afterEach(async () => {
    await bus.close();
    await cleanupStreams(prefix);
  });

  it('declares its streams idempotently, whichever app starts first', async () => {
    const again = await openBus(testBusSettings(prefix), 'test2');
    await again.close();
    const names: string[] = [];
    for await (const n of bus.jsm.streams.names()) if (n.startsWith(prefix)) names.push(n);
    expect(names.sort()).toEqual([`${prefix}ALERTS`, `${prefix}DEADLETTER`, `${prefix}EVENTS`]);
  });

  it('stores a message published twice with the same id once', async () => {
    const m = {
      subject: bus.names.eventsSubject('syslog', 'tcp'),
      data: Buffer.from('{}'),
      msgId: 'same-id',
    };
    const [a, b] = [await bus.publisher.publish(m), await bus.publisher.publish(m)];
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(await readStream(bus.names.eventsStream)).toHaveLength(1);
  });

  it('acks only after the handler resolved, redelivers a failed batch, and dead-letters a poison message', async () => {
    const spec = {
      stream: bus.names.eventsStream,
      durable: bus.names.durable('t'),
      maxDeliver: 3,
      ackWaitMs: 5000,
    };
    await ensureConsumer(bus.jsm, spec);
    for (let i = 0; i < 5; i++)
      await bus.publisher.publish({
        subject: bus.names.eventsSubject('syslog', 'udp'),
        data: Buffer.from(JSON.stringify({ i })),
        msgId: `m${i}`,
      });
    await bus.publisher.publish({
      subject: bus.names.eventsSubject('syslog', 'udp'),
      data: Buffer.from('not json'),
      msgId: 'bad-json',
    });
    await bus.publisher.publish({
      subject: bus.names.eventsSubject('syslog', 'udp'),
      data: Buffer.from(JSON.stringify({ i: 99 })),
      msgId: 'poison',
    });

    const handled: number[] = [];
    let firstAttempt = true;
    const consumer = new DurableConsumer<{ i: number }>(
      {
        js: bus.js,
        spec,
        batchSize: 10,
        deadletter: { publisher: bus.publisher, subject: (r) => bus.names.deadletterSubject('test', r) },
        logger: quiet,
      },
      {
        decode: (msg: JsMsg) => JSON.parse(Buffer.from(msg.data).toString()) as { i: number },
        handle: async (items) => {
          if (items.some((x) => x.value.i === 99)) throw new Error('poison');
          if (firstAttempt) {
            firstAttempt = false;
            throw new Error('transient');
          }
          handled.push(...items.map((x) => x.value.i));
        },
      },
    );
    consumer.start();
    try {
      await waitFor(
        async () => {
          const dl = await readStream(bus.names.deadletterStream);
          return handled.length >= 5 && dl.length === 2 ? dl : undefined;
        },
        'all handled and two dead letters',
        30_000,
      ).then((dl) => {
        expect([...new Set(handled)].sort()).toEqual([0, 1, 2, 3, 4]);
        const byReason = Object.fromEntries(
          dl.map((m) => [m.headers?.get('Citysoc-Reason'), Buffer.from(m.data).toString()]),
        );
        expect(byReason).toEqual({ undecodable: 'not json', handler_failed: JSON.stringify({ i: 99 }) });
      });
      const info = await bus.jsm.consumers.info(spec.stream, spec.durable);
      await waitFor(
        async () => (await bus.jsm.consumers.info(spec.stream, spec.durable)).num_ack_pending === 0,
        'no pending acks',
      );
      expect(info.config.max_deliver).toBe(-1);
    } finally {
      await consumer.stop();
    }
  }, 40_000);
});
