import { readFileSync } from 'node:fs';
import path from 'node:path';
import { busNames, type JetStreamPublisher, type Logger, type OutMessage } from '@citysoc/bus';
import { UnitRegistry } from '@citysoc/enrich';
import { ComponentMetrics } from '@citysoc/observability';
import { EVENT_COUNT_HEADER } from './batcher';
import { DrillMarker } from './drill-marker';
import { type FrameMeta, SyslogIngest } from './ingest';
import { ParsePool, runLimits } from './parse-pool';

const meta: FrameMeta = {
  senderIp: '::ffff:10.10.1.7',
  senderPort: 5140,
  transport: 'tcp',
  inputName: 'syslog_tcp',
  receivedAt: new Date('2026-11-27T03:00:00Z'),
};
const line = (n: number, extra = '') =>
  Buffer.from(`<134>1 2026-11-27T10:00:00+07:00 h app - - ${extra || '-'} line ${n} from 10.10.2.9`);
const unitsFile = path.join(__dirname, '../../../../deploy/units.example.yml');
const unitsYaml = readFileSync(unitsFile, 'utf8');
const BATCH = { events: 3, ms: 0, bytes: 1 << 20 };
const quiet: Logger = { log: () => undefined, warn: () => undefined, error: () => undefined };

function publisher() {
  const stored: OutMessage[] = [];
  return {
    stored,
    publish: (m: OutMessage) => {
      stored.push(m);
      return Promise.resolve({ seq: stored.length });
    },
  };
}

function ingest(pub: ReturnType<typeof publisher>, pool?: ParsePool) {
  const names = busNames('T_');
  const i = new SyslogIngest(
    pub as unknown as JetStreamPublisher,
    names,
    new ComponentMetrics('collector'),
    'UTC',
    UnitRegistry.fromYaml(unitsYaml, unitsFile).registry,
    undefined,
    undefined,
    0,
    BATCH,
    pool,
  );
  // No drill runs: a payload marker is forged, stripped and reported on the main thread.
  i.drills = new DrillMarker(pub as unknown as JetStreamPublisher, names, quiet);
  return i;
}

/** What was stored, message by message: subject, msg id, count header, body. */
const stored = (ms: OutMessage[]) =>
  ms.map((m) => [m.subject, m.msgId, m.headers?.[EVENT_COUNT_HEADER], Buffer.from(m.data).toString()]);

describe('ParsePool (syslog parse threads)', () => {
  const pools: ParsePool[] = [];
  const pool = (script?: string) => {
    const p = new ParsePool({
      threads: 2,
      unitsYaml,
      unitsFile,
      ...runLimits(BATCH),
      ...(script ? { script } : {}),
    });
    pools.push(p);
    return p;
  };
  afterAll(() => Promise.all(pools.map((p) => p.close())));

  it('stores exactly the events and dead letters the in-process path stores: ids, units, drill stripping, order', async () => {
    const reads = [
      [line(1), line(2), line(1), Buffer.from([0, 1, 2, 0xff]), line(3), line(4)],
      [line(5, '[citysoc-drill@32473 id="d-FORGED"]'), line(6), line(7), line(8)],
    ];
    const errors = [{ code: 'frame_too_large' as const, reason: 'too long', raw: Buffer.from('<13>aaaa') }];
    const inProcess = publisher();
    const a = ingest(inProcess);
    const threaded = publisher();
    const b = ingest(threaded, pool());
    for (const r of reads) {
      await a.acceptAll(r, errors, meta);
      await b.acceptAll(r, errors, meta);
    }
    await a.flush();
    await b.flush();
    // The forged-marker report carries the time it was made: compared by count, the rest byte for byte.
    const health = (ms: OutMessage[]) => ms.filter((m) => m.subject.endsWith('.health'));
    expect(health(threaded.stored)).toHaveLength(1);
    expect(health(inProcess.stored)).toHaveLength(1);
    // Dead letters byte for byte (framing errors go while the thread parses, so only their set is compared).
    const dead = (ms: OutMessage[]) =>
      stored(ms.filter((m) => m.subject.includes('deadletter'))).sort((x, y) =>
        String(x[1]).localeCompare(String(y[1])),
      );
    expect(dead(threaded.stored)).toEqual(dead(inProcess.stored));
    expect(dead(threaded.stored)).toHaveLength(3);
    // Events byte for byte and in order. Batch boundaries may differ: a thread's run of events joins a
    // batch whole, so its messages (and their batch ids) are cut elsewhere.
    const events = (ms: OutMessage[]) =>
      ms
        .filter((m) => m.subject === 'T_events.syslog.tcp')
        .flatMap((m) => {
          const v: unknown = JSON.parse(Buffer.from(m.data).toString());
          return Array.isArray(v) ? v : [v];
        })
        .map((e) => JSON.stringify(e));
    const body = events(threaded.stored).join('\n');
    // Enrichment and drill stripping happened at all (so the equality below compares real work).
    expect(body).toContain('"source_unit"');
    expect(body).toContain('"drill_marker_forged":"d-FORGED"');
    expect(events(threaded.stored)).toEqual(events(inProcess.stored));
    expect(events(threaded.stored)).toHaveLength(9);
  });

  it('keeps the order of reads submitted concurrently', async () => {
    const pub = publisher();
    const b = ingest(pub, pool());
    await Promise.all(
      Array.from({ length: 20 }, (_, r) => b.acceptAll([line(10 * r), line(10 * r + 1)], [], meta)),
    );
    await b.flush();
    const messages = pub.stored.flatMap((m) => {
      const v: unknown = JSON.parse(Buffer.from(m.data).toString());
      return (Array.isArray(v) ? v : [v]) as Array<{ message: string }>;
    });
    expect(messages.map((e) => e.message)).toEqual(
      Array.from({ length: 20 }, (_, r) => [
        `line ${10 * r} from 10.10.2.9`,
        `line ${10 * r + 1} from 10.10.2.9`,
      ]).flat(),
    );
  });

  it('redoes the batch of a thread that died and dead-letters, with its bytes, only the read that kills it again', async () => {
    const p = pool(path.join(__dirname, 'crashing-parse-worker.test.ts'));
    const pub = publisher();
    const b = ingest(pub, p);
    const poison = Buffer.from('<134>1 2026-11-27T10:00:00+07:00 h app - - - CRASH');
    // Submitted in one turn, so the good reads share the poisonous read's job at first.
    await Promise.all([
      b.acceptAll([line(1), line(2)], [], meta),
      b.acceptAll([poison, line(3)], [], meta),
      b.acceptAll([line(4)], [], meta),
    ]);
    await b.flush();
    expect(p.crashes).toBe(2);
    const dead = pub.stored.filter((m) => m.subject.includes('deadletter'));
    expect(dead.map((m) => [m.headers?.['Citysoc-Reason'], Buffer.from(m.data).toString()])).toEqual([
      ['internal_error', poison.toString()],
      ['internal_error', line(3).toString()],
    ]);
    const events = pub.stored
      .filter((m) => !m.subject.includes('deadletter'))
      .flatMap((m) => {
        const v: unknown = JSON.parse(Buffer.from(m.data).toString());
        return (Array.isArray(v) ? v : [v]) as Array<{ message: string }>;
      });
    expect(events.map((e) => e.message)).toEqual([
      'line 1 from 10.10.2.9',
      'line 2 from 10.10.2.9',
      'line 4 from 10.10.2.9',
    ]);
    // The pool still works after the crashes.
    await b.acceptAll([line(9)], [], meta);
    await b.flush();
    expect(pub.stored.at(-1)?.data.toString()).toContain('line 9');
  });

  it('refuses a pool without threads', () => {
    expect(() => new ParsePool({ threads: 0, ...runLimits(BATCH) })).toThrow(/threads >= 1/);
  });
});
