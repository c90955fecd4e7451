import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decodeDatagram,
  flowRecordId,
  type FlowJsonOptions,
  flowToEcs,
  flowToEcsJson,
  MemoryTemplateCache,
  textRecord,
} from '@citysoc/flow';
import { ByteSlab, type RecordRun, renderRuns, unitJsonV4For } from './render';

/**
 * The byte path (runs written as UTF-8 into a ByteSlab) must give exactly the string path's JSON: each
 * record's `flowToEcsJson` text, joined by commas per run, encoded once. Checked on every datagram of the
 * flow corpus and on documents with non-ASCII text, with slabs and run limits small enough that runs are
 * split and carried over to new slabs.
 */

const receivedAt = new Date(Date.UTC(2026, 10, 27, 12, 0, 0, 123));
const exporter = '192.0.2.1';
/** A unit whose JSON is not ASCII (Vietnamese ward name), so byte and character counts differ. */
const unitJson = (ip: string): string | undefined =>
  ip.startsWith('10.') || ip.startsWith('192.')
    ? JSON.stringify({ id: 'hanoi/ba-dinh', name: 'Phường Ba Đình "ward" 🏙' })
    : undefined;

function stringPath(datagrams: Buffer[], opts: { unitJson?: typeof unitJson }): string[] {
  const cache = new MemoryTemplateCache();
  const out: string[] = [];
  for (const d of datagrams) {
    const { records, layouts } = decodeDatagram(d, { exporter, receivedAt }, cache);
    records.forEach((rec, i) => {
      const o: FlowJsonOptions = { receivedAt, unitJson: opts.unitJson };
      if (rec.version !== 5)
        o.facts = cache.facts({ exporter: rec.exporter, version: rec.version, domain: rec.domain });
      out.push(flowToEcsJson(rec, layouts[i]!, o));
    });
  }
  return out;
}

function bytePath(
  datagrams: Buffer[],
  opts: { unitJson?: typeof unitJson; slabBytes: number; maxBytes: number; special?: boolean },
): { runs: RecordRun[]; ids: string[] } {
  const cache = new MemoryTemplateCache();
  const slab = new ByteSlab(opts.slabBytes);
  const runs: RecordRun[] = [];
  const ids: string[] = [];
  for (const d of datagrams) {
    // As the collector decodes: IPv4 addresses as numbers, formatted by the writer.
    const { records, layouts } = decodeDatagram(d, { exporter, receivedAt, numericAddresses: true }, cache);
    for (const r of records) ids.push(flowRecordId(r));
    const rendered = renderRuns(records, layouts, {
      receivedAt,
      unitJson: opts.unitJson,
      factsOf: (s) => cache.facts(s),
      maxBytes: opts.maxBytes,
      slab,
      // A drill's marked document is built from the text record (ingest.ts, markedJson).
      ...(opts.special
        ? { special: (rec, o, layout) => JSON.stringify(flowToEcs(textRecord(rec, layout), o)) }
        : {}),
    });
    runs.push(...rendered.runs);
  }
  return { runs, ids };
}

function expectSame(datagrams: Buffer[], slabBytes: number, maxBytes: number): number {
  for (const [units, special] of [
    [undefined, false],
    [unitJson, false],
    [undefined, true],
  ] as const) {
    const want = stringPath(datagrams, { unitJson: units });
    const { runs, ids } = bytePath(datagrams, { unitJson: units, slabBytes, maxBytes, special });
    let k = 0;
    for (const run of runs) {
      const docs = want.slice(k, k + run.count);
      expect(run.firstId).toBe(ids[k]);
      // Decoded back and compared as text: a mismatch shows where; then the exact bytes.
      expect(Buffer.from(run.utf8).toString('utf8')).toBe(docs.join(','));
      expect(Buffer.compare(Buffer.from(run.utf8), Buffer.from(docs.join(',')))).toBe(0);
      k += run.count;
    }
    expect(k).toBe(want.length);
  }
  return datagrams.length;
}

const repoRoot = path.resolve(__dirname, '../../../../..');
const softflowd = path.join(
  process.env.CITYSOC_CORPUS_DIR ?? path.resolve(repoRoot, '../shared/corpus'),
  'flow',
  'softflowd',
);
const present = fs.existsSync(softflowd);
if (!present) console.warn('renderRuns corpus comparison skipped: no flow corpus');

function load(dir: string): Buffer[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f)));
}

describe('renderRuns byte path', () => {
  (present ? it : it.skip).each(['v5', 'v9', 'ipfix'])(
    'writes the string path’s JSON for every softflowd %s record, runs split and slabs carried over',
    (version) => {
      const datagrams = load(path.join(softflowd, version));
      expect(datagrams.length).toBeGreaterThan(0);
      // Small slabs (a few documents each) force carry-overs; a small run limit forces splits.
      expectSame(datagrams, 4096, 3000);
      // The collector's sizes.
      expectSame(datagrams, 1 << 20, 256 * 1024);
    },
  );

  it('writes a run longer than a slab, and non-ASCII text, exactly', () => {
    const slab = new ByteSlab(16);
    const a = slab.put('{"a":"Đình"}');
    const long = `{"b":"${'x'.repeat(40)}🏙"},{"c":1}`;
    const b = slab.put(long);
    expect(Buffer.from(a).toString()).toBe('{"a":"Đình"}');
    expect(Buffer.from(b).toString()).toBe(long);
    expect(b.length).toBe(Buffer.byteLength(long));
  });

  it('reuses a full buffer only once every run taken from it was released', () => {
    const slab = new ByteSlab(32);
    const a = slab.put('"aaaaaaaa"');
    // The next run does not fit: a new buffer; the first one is still out, so not reused.
    const b = slab.put('"bbbbbbbb"');
    expect(b.buffer).not.toBe(a.buffer);
    const c = slab.put('"cccccccc"');
    expect(c.buffer).not.toBe(a.buffer);
    expect(Buffer.from(a).toString()).toBe('"aaaaaaaa"');
    slab.release(a);
    slab.release(b);
    // c's buffer is full too: a released full buffer is taken again.
    const d = slab.put('"dddddddd"');
    expect([a.buffer, b.buffer]).toContain(d.buffer);
    expect(Buffer.from(c).toString()).toBe('"cccccccc"');
    expect(Buffer.from(d).toString()).toBe('"dddddddd"');
  });

  it('hands a worker the buffers it wrote, for a transfer list', () => {
    const slab = new ByteSlab(8, 'transfer');
    slab.put('"0123456789"');
    const bufs = slab.takeBuffers();
    expect(bufs.length).toBe(2);
    expect(bufs.every((b) => b instanceof ArrayBuffer)).toBe(true);
  });
});

describe('unitJsonV4For', () => {
  it('gives the unit JSON of an IPv4 number, asks the registry once per address, none when empty', () => {
    const asked: number[] = [];
    const units = {
      size: 1,
      lookupV4: (ip: number) => {
        asked.push(ip);
        return ip >>> 24 === 10 ? { id: 'hanoi/ba-dinh' } : undefined;
      },
    };
    const f = unitJsonV4For(units)!;
    expect(f(0x0a000001)).toBe('{"id":"hanoi/ba-dinh"}');
    expect(f(0x0a000001)).toBe('{"id":"hanoi/ba-dinh"}');
    expect(f(0xcb007109)).toBeUndefined();
    expect(f(0xcb007109)).toBeUndefined();
    expect(asked).toEqual([0x0a000001, 0xcb007109]);
    expect(unitJsonV4For({ size: 0, lookupV4: () => undefined })).toBeUndefined();
  });
});
