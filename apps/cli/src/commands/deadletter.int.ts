import { Writable } from 'node:stream';
import { Command } from 'commander';
import { openBus } from '@citysoc/bus';
import { cleanupStreams, readStream, testBusSettings, uniquePrefix } from '@citysoc/testing';
import { registerDeadletter } from './deadletter';

async function run(args: string[]): Promise<string> {
  let text = '';
  const out = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  const program = new Command('citysoc').exitOverride();
  registerDeadletter(program, out);
  await program.parseAsync(args, { from: 'user' });
  return text;
}

describe('citysoc deadletter', () => {
  const prefix = uniquePrefix();
  beforeAll(() => {
    process.env.CITYSOC_STREAM_PREFIX = prefix;
  });
  afterAll(async () => {
    delete process.env.CITYSOC_STREAM_PREFIX;
    await cleanupStreams(prefix);
  });

  it('lists dead letters and replays those the current parser accepts, keeping the others', async () => {
    const bus = await openBus(testBusSettings(prefix), 'test');
    const headers = (id: string, reason: string) => ({
      'Citysoc-Reason': reason,
      'Citysoc-Detail': 'refused by an older parser',
      'Citysoc-Sender': '10.1.2.3:5140',
      'Citysoc-Input': 'syslog_tcp',
      'Citysoc-Received-At': '2026-11-27T03:00:00.000Z',
      'Citysoc-Event-Id': id,
      'Citysoc-Transport': 'tcp',
    });
    // As if an earlier release had refused a valid line: a parser fix makes it replayable.
    await bus.publisher.publish({
      subject: bus.names.deadletterSubject('collector', 'invalid_header'),
      data: Buffer.from('<34>1 2026-11-27T10:00:00+07:00 fw1 sshd 7 - - fixed now'),
      msgId: 'dl-a',
      headers: headers('evt-a', 'invalid_header'),
    });
    await bus.publisher.publish({
      subject: bus.names.deadletterSubject('collector', 'not_text'),
      data: Buffer.from([0, 1, 2, 0, 0xff]),
      msgId: 'dl-b',
      headers: headers('evt-b', 'not_text'),
    });
    await bus.close();

    const listing = await run(['deadletter', 'list']);
    expect(listing.trim().split('\n')).toHaveLength(2);
    expect(listing).toMatch(/invalid_header\t10\.1\.2\.3:5140\tsyslog_tcp/);

    const dry = await run(['deadletter', 'replay', '--dry-run']);
    expect(dry).toContain('1 would be replayed, 1 left');
    expect(await readStream(`${prefix}EVENTS`)).toHaveLength(0);

    const report = await run(['deadletter', 'replay']);
    expect(report).toContain('1 replayed, 1 left');
    const events = await readStream(`${prefix}EVENTS`);
    expect(events).toHaveLength(1);
    const doc = JSON.parse(Buffer.from(events[0]!.data).toString()) as {
      event: { id: string };
      message: string;
      source: { ip: string };
    };
    expect(doc.event.id).toBe('evt-a');
    expect(doc.message).toBe('fixed now');
    expect(doc.source.ip).toBe('10.1.2.3');
    const left = await readStream(`${prefix}DEADLETTER`);
    expect(left.map((m) => m.headers?.get('Citysoc-Reason'))).toEqual(['not_text']);
  }, 30_000);
});
