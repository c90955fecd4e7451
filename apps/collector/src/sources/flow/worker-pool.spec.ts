import { decodeDatagram, MemoryTemplateCache, type TemplateChange, type TemplateDef } from '@citysoc/flow';
import { cat, ip, ipfix, set, u8 } from '../../../../../libs/flow/src/spec-helpers';
import { ByteSlab, type RenderedDatagram, renderRuns } from './render';
import { FlowWorkerPool } from './worker-pool';

const EXP = '192.0.2.1';
const receivedAt = new Date('2026-11-27T12:00:00Z');
const scope = { exporter: EXP, version: 10 as const, domain: 7 };
const def: TemplateDef = {
  version: 10,
  templateId: 256,
  options: false,
  scopeCount: 0,
  fields: [
    { id: 8, pen: 0, length: 4 },
    { id: 12, pen: 0, length: 4 },
    { id: 4, pen: 0, length: 1 },
  ],
};
/** The same template with the addresses swapped: a redefinition the workers must follow. */
const swapped: TemplateDef = { ...def, fields: [def.fields[1]!, def.fields[0]!, def.fields[2]!] };
const rec = (i: number) => cat(ip(`10.0.${i >> 8}.${i & 255}`), ip('10.9.9.9'), u8(6));
const data = (seq: number) => ipfix(seq, 1_700_000_000, 7, set(256, rec(seq), rec(seq + 1)));

/** One slab for the references (a megabyte per call would be hundreds of megabytes off-heap). */
const slab = new ByteSlab();

/** What the main thread makes of a datagram: the reference the workers must match byte for byte. */
function here(cache: MemoryTemplateCache, raw: Buffer): RenderedDatagram {
  const { records, layouts, errors, messages } = decodeDatagram(raw, { exporter: EXP, receivedAt }, cache);
  const { runs, perVersion } = renderRuns(records, layouts, {
    receivedAt,
    factsOf: (s) => cache.facts(s),
    maxBytes: 1 << 20,
    slab,
  });
  return { runs, perVersion, errors, messages, records: records.length };
}

// Workers run from the TypeScript sources here (transpiled as they load), which takes seconds on a busy
// machine: the waits are generous, nothing is asserted about time.
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 24_000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error('condition not reached');
}

describe('FlowWorkerPool', () => {
  let store: MemoryTemplateCache;
  let pool: FlowWorkerPool;
  let redone: number;
  const restarts: unknown[] = [];

  beforeEach(async () => {
    store = new MemoryTemplateCache();
    store.put(scope, def);
    redone = 0;
    pool = new FlowWorkerPool({
      workers: 2,
      unitsFile: '',
      maxBytes: 1 << 20,
      snapshot: () => store.snapshot(),
      redo: (raw) => {
        redone++;
        return here(store, raw);
      },
      onRestart: (err) => restarts.push(err),
    });
    await until(() => pool.accepting);
  }, 300_000);

  afterEach(() => pool.stop());

  it('decodes in workers exactly as the main thread does, following template changes in order', async () => {
    const before = Array.from({ length: 100 }, (_, i) => data(i * 2));
    const after = Array.from({ length: 100 }, (_, i) => data(1000 + i * 2));
    const want = before.map((d) => here(store, d));
    const got1 = before.map((d) => pool.submit(d, EXP, receivedAt));
    // A redefinition: datagrams queued before it are decoded with the old one, those after with the new.
    store.put(scope, swapped);
    const change: TemplateChange = { op: 'put', scope, def: swapped };
    pool.broadcast(change);
    const want2 = after.map((d) => here(store, d));
    const got2 = after.map((d) => pool.submit(d, EXP, receivedAt));
    pool.dispatch();
    expect(await Promise.all(got1)).toEqual(want);
    expect(await Promise.all(got2)).toEqual(want2);
    expect(Buffer.from(want2[0]!.runs[0]!.utf8).toString()).toContain('"source":{"ip":"10.9.9.9"');
    expect(redone).toBe(0);
  }, 300_000);

  it('replaces a worker that dies and decodes its unanswered datagrams in the main thread', async () => {
    const dgrams = Array.from({ length: 300 }, (_, i) => data(i * 2));
    const want = dgrams.map((d) => here(store, d));
    pool.crash(0);
    pool.crash(1);
    const got = dgrams.map((d) => pool.submit(d, EXP, receivedAt));
    pool.dispatch();
    expect(await Promise.all(got)).toEqual(want);
    await until(() => pool.restarts === 2);
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    // The replacements are seeded with the store's templates and take work again.
    await until(() => pool.accepting);
    const more = data(5000);
    const late = pool.submit(more, EXP, receivedAt);
    pool.dispatch();
    expect(await late).toEqual(here(store, more));
  }, 300_000);
});
