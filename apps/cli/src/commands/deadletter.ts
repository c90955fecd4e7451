import { type Command } from 'commander';
import { type JsMsg, type MsgHdrs, type NatsConnection } from 'nats';
import { busNames, connectBus, JetStreamPublisher } from '@citysoc/bus';
import { parseSyslog } from '@citysoc/syslog';

interface Conn {
  nc: NatsConnection;
  names: ReturnType<typeof busNames>;
}

async function withBus<T>(fn: (c: Conn) => Promise<T>): Promise<T> {
  const nc = await connectBus({
    servers: process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222',
    name: 'citysoc-cli',
  });
  try {
    return await fn({ nc, names: busNames(process.env.CITYSOC_STREAM_PREFIX ?? '') });
  } finally {
    await nc.drain();
  }
}

/** Every dead letter currently stored, oldest first (an ordered consumer: nothing is left behind). */
async function readAll(c: Conn, reason?: string): Promise<JsMsg[]> {
  const jsm = await c.nc.jetstreamManager();
  const total = (await jsm.streams.info(c.names.deadletterStream)).state.messages;
  if (total === 0) return [];
  const consumer = await c.nc.jetstream().consumers.get(c.names.deadletterStream);
  const out: JsMsg[] = [];
  const iter = await consumer.fetch({ max_messages: total, expires: 3000 });
  for await (const m of iter) {
    if (!reason || m.headers?.get('Citysoc-Reason') === reason) out.push(m);
    if (m.info.pending === 0) break;
  }
  return out;
}

const h = (headers: MsgHdrs | undefined, k: string) => headers?.get(k) ?? '';

export function registerDeadletter(program: Command, out: NodeJS.WritableStream): void {
  const dl = program
    .command('deadletter')
    .description('Inspect and replay dead letters (CITYSOC_NATS_URL, CITYSOC_STREAM_PREFIX)');
  dl.command('list')
    .description('One line per dead letter: sequence, time, reason, sender, input, size')
    .option('--reason <code>', 'only this reason')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { reason?: string; json?: boolean }) => {
      await withBus(async (c) => {
        for (const m of await readAll(c, opts.reason)) {
          const row = {
            seq: m.seq,
            subject: m.subject,
            received_at: h(m.headers, 'Citysoc-Received-At'),
            reason: h(m.headers, 'Citysoc-Reason'),
            detail: h(m.headers, 'Citysoc-Detail'),
            sender: h(m.headers, 'Citysoc-Sender'),
            input: h(m.headers, 'Citysoc-Input'),
            bytes: m.data.length,
          };
          out.write(
            opts.json
              ? `${JSON.stringify(row)}\n`
              : `${row.seq}\t${row.received_at}\t${row.reason}\t${row.sender}\t${row.input}\t${row.bytes} B\t${row.detail}\n`,
          );
        }
      });
    });
  dl.command('show')
    .description('The raw bytes of one dead letter (base64 with --base64)')
    .argument('<seq>', 'sequence number from `deadletter list`')
    .option('--base64', 'print the bytes base64-encoded')
    .action(async (seq: string, opts: { base64?: boolean }) => {
      await withBus(async (c) => {
        const jsm = await c.nc.jetstreamManager();
        const m = await jsm.streams.getMessage(c.names.deadletterStream, { seq: Number(seq) });
        out.write(opts.base64 ? `${Buffer.from(m.data).toString('base64')}\n` : Buffer.from(m.data));
        if (!opts.base64) out.write('\n');
      });
    });
  dl.command('replay')
    .description(
      'Parse collector dead letters again (after a parser fix); those that now parse go to EVENTS with their original id and leave the dead-letter stream',
    )
    .option('--reason <code>', 'only this reason')
    .option('--dry-run', 'report what would happen, change nothing')
    .action(async (opts: { reason?: string; dryRun?: boolean }) => {
      await withBus(async (c) => {
        const publisher = new JetStreamPublisher(c.nc);
        const jsm = await c.nc.jetstreamManager();
        let replayed = 0;
        let still = 0;
        const fromCollector = c.names.deadletterWildcard.replace('>', 'collector.');
        try {
          for (const m of await readAll(c, opts.reason)) {
            const eventId = h(m.headers, 'Citysoc-Event-Id');
            const sender = h(m.headers, 'Citysoc-Sender');
            if (!m.subject.startsWith(fromCollector) || !eventId) {
              still++;
              continue;
            }
            const portAt = sender.lastIndexOf(':');
            const transport = (h(m.headers, 'Citysoc-Transport') || 'tcp') as 'udp' | 'tcp' | 'tls';
            const r = parseSyslog(Buffer.from(m.data), {
              senderIp: sender.slice(0, portAt),
              senderPort: Number(sender.slice(portAt + 1)) || 0,
              receivedAt: new Date(h(m.headers, 'Citysoc-Received-At') || Date.now()),
              eventId,
              inputName: h(m.headers, 'Citysoc-Input') || 'replay',
              transport,
            });
            if (!r.ok) {
              still++;
              out.write(`${m.seq}\tstill refused: ${r.code}: ${r.reason}\n`);
              continue;
            }
            replayed++;
            out.write(`${m.seq}\t${opts.dryRun ? 'would replay' : 'replayed'} as ${eventId}\n`);
            if (opts.dryRun) continue;
            await publisher.publish({
              subject: c.names.eventsSubject('syslog', transport),
              data: Buffer.from(JSON.stringify(r.event)),
              msgId: eventId,
            });
            await jsm.streams.deleteMessage(c.names.deadletterStream, m.seq, false);
          }
        } finally {
          publisher.close();
        }
        out.write(`${replayed} ${opts.dryRun ? 'would be replayed' : 'replayed'}, ${still} left\n`);
      });
    });
}
