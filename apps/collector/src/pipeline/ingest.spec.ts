import { busNames, type JetStreamPublisher, type OutMessage } from '@citysoc/bus';
import { ComponentMetrics } from '@citysoc/observability';
import { type DrillMarker } from './drill-marker';
import { EVENT_COUNT_HEADER } from './batcher';
import { type FrameMeta, IngestFailure, SyslogIngest } from './ingest';

const meta: FrameMeta = {
  senderIp: '::ffff:10.0.0.7',
  senderPort: 5140,
  transport: 'tcp',
  inputName: 'syslog_tcp',
  receivedAt: new Date('2026-11-27T03:00:00Z'),
};
const line = (n: number) => Buffer.from(`<134>1 2026-11-27T10:00:00+07:00 h app - - - line ${n}`);

/** Stores what it is given; `refuse` makes a subject fail like a JetStream that will not take it. */
function publisher(refuse: (m: OutMessage) => boolean = () => false) {
  const stored: OutMessage[] = [];
  const p = {
    stored,
    publish: (m: OutMessage) => {
      if (refuse(m)) return Promise.reject(new Error(`refused ${m.subject}`));
      stored.push(m);
      return Promise.resolve({ seq: stored.length });
    },
  };
  return p;
}

function ingest(pub: ReturnType<typeof publisher>, events = 100) {
  return new SyslogIngest(
    pub as unknown as JetStreamPublisher,
    busNames('T_'),
    new ComponentMetrics('collector'),
    'UTC',
    undefined,
    undefined,
    undefined,
    0,
    { events, ms: 0, bytes: 1 << 20 },
  );
}

const events = (stored: OutMessage[]) =>
  stored
    .filter((m) => m.headers?.[EVENT_COUNT_HEADER])
    .flatMap((m) => {
      const v: unknown = JSON.parse(Buffer.from(m.data).toString());
      return (Array.isArray(v) ? v : [v]) as Array<{ event: { id: string }; message: string }>;
    });

describe('SyslogIngest.acceptAll', () => {
  it('gives the frames of one read the same events and ids as accepting them one by one', async () => {
    const frames = [line(1), line(2), line(1), line(3)];
    const together = publisher();
    await ingest(together).acceptAll(frames, [], meta);
    const single = publisher();
    const one = ingest(single);
    for (const f of frames) await one.accept(f, meta);
    expect(events(together.stored)).toEqual(events(single.stored));
    expect(events(together.stored).map((e) => e.message)).toEqual(['line 1', 'line 2', 'line 1', 'line 3']);
    // The repeated line keeps a distinct id (its occurrence counts), as before.
    expect(new Set(events(together.stored).map((e) => e.event.id)).size).toBe(4);
  });

  it('spreads one read over several batches and resolves only once all of them are stored', async () => {
    const pub = publisher();
    await ingest(pub, 2).acceptAll([1, 2, 3, 4, 5].map(line), [], meta);
    expect(pub.stored.map((m) => m.headers?.[EVENT_COUNT_HEADER])).toEqual(['2', '2', '1']);
  });

  it('dead-letters framing errors and unparsable frames of the same read with their bytes', async () => {
    const pub = publisher();
    await ingest(pub).acceptAll(
      [line(1), Buffer.from([0, 1, 2, 0xff])],
      [{ code: 'frame_too_large', reason: 'too long', raw: Buffer.from('<13>aaaa') }],
      meta,
    );
    const dead = pub.stored.filter((m) => m.subject.includes('deadletter'));
    expect(dead.map((m) => [m.headers?.['Citysoc-Reason'], Buffer.from(m.data).toString('hex')])).toEqual([
      ['not_text', '000102ff'],
      ['frame_too_large', Buffer.from('<13>aaaa').toString('hex')],
    ]);
    expect(dead.every((m) => m.headers?.['Citysoc-Sender'] === '10.0.0.7:5140')).toBe(true);
    expect(events(pub.stored)).toHaveLength(1);
  });

  it('dead-letters a frame the collector itself fails on instead of losing it', async () => {
    const pub = publisher();
    const i = ingest(pub);
    i.drills = {
      mark: () => {
        throw new Error('marker bug');
      },
    } as unknown as DrillMarker;
    await i.acceptAll([line(1)], [], meta);
    const [dead] = pub.stored;
    expect(dead?.headers?.['Citysoc-Reason']).toBe('internal_error');
    expect(dead?.headers?.['Citysoc-Detail']).toContain('marker bug');
    expect(Buffer.from(dead!.data).toString()).toBe(line(1).toString());
  });

  it('counts the frames that reached neither JetStream nor the dead letters', async () => {
    // Batches and dead letters are both refused: two events and one framing error are lost, and said so.
    const pub = publisher(() => true);
    const err = await ingest(pub)
      .acceptAll(
        [line(1), line(2)],
        [{ code: 'invalid_octet_count', reason: 'bad', raw: Buffer.from('x') }],
        meta,
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(IngestFailure);
    expect((err as IngestFailure).count).toBe(3);
  });

  it('keeps the events of a refused batch whose dead letters were stored', async () => {
    const pub = publisher((m) => !m.subject.includes('deadletter'));
    await expect(ingest(pub).acceptAll([line(1), line(2)], [], meta)).resolves.toBeUndefined();
    expect(pub.stored.map((m) => m.headers?.['Citysoc-Reason'])).toEqual([
      'publish_failed',
      'publish_failed',
    ]);
  });

  it('reports a failure of its own bookkeeping as a rejection, never as a throw into the socket handler', async () => {
    const metrics = new ComponentMetrics('collector');
    jest.spyOn(metrics.received, 'inc').mockImplementation(() => {
      throw new Error('registry broken');
    });
    const i = new SyslogIngest(publisher() as unknown as JetStreamPublisher, busNames('T_'), metrics, 'UTC');
    let p: Promise<void> | undefined;
    expect(() => (p = i.acceptAll([line(1)], [], meta))).not.toThrow();
    await expect(p).rejects.toThrow('registry broken');
  });
});
