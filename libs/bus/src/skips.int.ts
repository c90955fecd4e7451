import { AckPolicy, DeliverPolicy, nanos } from 'nats';
import { cleanupStreams, testBusSettings, uniquePrefix, waitFor } from '@citysoc/testing';
import { DurableConsumer, ensureConsumer } from './consumer';
import { type Bus, openBus } from './open';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A durable consumer that moves past stream sequences without delivering them (nats-server 2.9.10 after a
 * quorum loss) is forced here on real NATS: while the consumer runs, its durable is replaced by one that
 * starts further on — the server-side state jumps, exactly what the client sees in the bug. With repair on,
 * the skipped messages are re-read from the stream and handled; with it off, they are lost (which shows the
 * forced gap is real).
 */
describe('a consumer that skips stream sequences', () => {
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

  it.each([
    { repair: true, handled: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], repaired: [[3, 0]] },
    { repair: false, handled: [1, 2, 3, 4, 5, 9, 10], repaired: [] },
  ])(
    'repair $repair: handles $handled',
    async ({ repair, handled: expected, repaired: expectedRepairs }) => {
      const spec = { stream: bus.names.eventsStream, durable: bus.names.durable('skip'), ackWaitMs: 2000 };
      await ensureConsumer(bus.jsm, spec);
      const publish = async (i: number) =>
        bus.publisher.publish({
          subject: bus.names.eventsSubject('syslog', 'tcp'),
          data: Buffer.from(JSON.stringify({ i })),
          msgId: `m${i}`,
        });
      const handled: number[] = [];
      const repairs: Array<[number, number]> = [];
      const consumer = new DurableConsumer<{ i: number }>(
        {
          js: bus.js,
          spec,
          batchSize: 10,
          deadletter: { publisher: bus.publisher, subject: (r) => bus.names.deadletterSubject('test', r) },
          logger: quiet,
          ...(repair
            ? {
                skipRepair: {
                  jsm: bus.jsm,
                  onRepaired: (n: number, gone: number) => repairs.push([n, gone]),
                },
              }
            : {}),
        },
        {
          decode: (msg) => JSON.parse(Buffer.from(msg.data).toString()) as { i: number },
          handle: async (items) => void handled.push(...items.map((x) => x.value.i)),
        },
      );
      consumer.start();
      try {
        for (let i = 1; i <= 5; i++) await publish(i);
        await waitFor(() => handled.length === 5, 'the first five handled');
        // The server-side state jumps: the durable now starts at #9, so #6..#8 are never delivered.
        await bus.jsm.consumers.delete(spec.stream, spec.durable);
        for (let i = 6; i <= 10; i++) await publish(i);
        await bus.jsm.consumers.add(spec.stream, {
          durable_name: spec.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: 9,
          ack_wait: nanos(2000),
          max_deliver: -1,
        });
        await waitFor(() => handled.includes(10), 'the last message handled', 30_000);
        // Nothing more is coming: the consumer has nothing pending once #10 is acked.
        await waitFor(
          async () => (await bus.jsm.consumers.info(spec.stream, spec.durable)).num_ack_pending === 0,
          'no pending acks',
        );
        expect([...handled].sort((a, b) => a - b)).toEqual(expected);
        expect(repairs).toEqual(expectedRepairs);
      } finally {
        await consumer.stop();
      }
    },
    60_000,
  );
});
