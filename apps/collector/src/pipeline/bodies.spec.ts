import { ByteSlab } from '../sources/flow/render';
import { type BatchItem, type BatchOutcome, EventBatcher } from './batcher';
import { MessageBodies } from './bodies';

/** A run of `n` documents, some with non-ASCII text (bytes ≠ characters). */
function run(tag: string, n: number, pad: number): string {
  const docs: string[] = [];
  for (let k = 0; k < n; k++)
    docs.push(JSON.stringify({ id: `${tag}.${k}`, unit: k % 3 === 0 ? 'Phường Bến Nghé' : 'x'.repeat(pad) }));
  return docs.join(',');
}

interface Sent {
  subject: string;
  expected: string;
  ids: string[];
  body: Buffer;
  settle(o: BatchOutcome): void;
}

function setup(limits = { events: 1000, ms: 0, bytes: 4096 }) {
  const spill = new ByteSlab(1024);
  const bodies = new MessageBodies(limits.bytes, spill);
  const sent: Sent[] = [];
  const batcher = new EventBatcher<null>(
    limits,
    (subject, items: ReadonlyArray<BatchItem<null>>, body) =>
      new Promise<BatchOutcome>((settle) => {
        // What the batch must read as: its items' text, taken now (their bytes may be reused later).
        const expected = `[${items.map((i) => Buffer.from(i.utf8!).toString()).join(',')}]`;
        sent.push({ subject, expected, ids: items.map((i) => i.id), body: body!, settle });
      }),
    bodies,
  );
  let seq = 0;
  const texts = new Map<string, string>();
  const put = (subject: string, n: number, pad: number) => {
    const text = run(`r${seq++}`, n, pad);
    const utf8 = bodies.put(subject, text);
    texts.set(`r${seq - 1}`, text);
    return { id: `r${seq - 1}`, json: '', utf8, events: n, origin: null } satisfies BatchItem<null>;
  };
  return { bodies, batcher, sent, put, spill, texts };
}

describe('MessageBodies', () => {
  it('builds a batch in place: no copy, the body is the JSON array of its runs', () => {
    const { batcher, sent, put } = setup();
    const a = put('s', 3, 20);
    const b = put('s', 2, 20);
    batcher.enqueue('s', a);
    batcher.enqueue('s', b);
    void batcher.flushAll();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.toString()).toBe(sent[0]!.expected);
    expect(JSON.parse(sent[0]!.body.toString())).toHaveLength(5);
    // The runs were written where the body reads them.
    expect(sent[0]!.body.buffer).toBe(a.utf8.buffer);
    expect(sent[0]!.body.buffer).toBe(b.utf8.buffer);
  });

  it('writes a run that would not fit the batch at the start of the next body', () => {
    const { batcher, sent, put } = setup({ events: 1000, ms: 1000, bytes: 1024 });
    const items = [put('s', 4, 150), put('s', 4, 150), put('s', 4, 150)];
    for (const i of items) batcher.enqueue('s', i);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.toString()).toBe(sent[0]!.expected);
    expect(items[2]!.utf8.byteOffset).toBe(1);
    void batcher.flushAll();
    expect(sent[1]!.body.toString()).toBe(sent[1]!.expected);
    expect(sent[1]!.body.buffer).toBe(items[2]!.utf8.buffer);
  });

  it('copies runs added out of order and bytes from elsewhere, and keeps their bodies correct', () => {
    const { batcher, sent, put } = setup();
    const a = put('s', 2, 10);
    const b = put('s', 2, 10);
    const foreign = Buffer.from(run('f', 2, 10));
    batcher.enqueue('s', b);
    batcher.enqueue('s', { id: 'f', json: '', utf8: foreign, events: 2, origin: null });
    batcher.enqueue('s', a);
    void batcher.flushAll();
    expect(sent[0]!.body.toString()).toBe(sent[0]!.expected);
  });

  it('reuses a body only after its publish was stored, never after a refusal', async () => {
    const { batcher, sent, put } = setup();
    batcher.enqueue('s', put('s', 2, 10));
    void batcher.flushAll();
    const first = sent[0]!.body.buffer;
    batcher.enqueue('s', put('s', 2, 10));
    void batcher.flushAll();
    expect(sent[1]!.body.buffer).not.toBe(first);
    sent[0]!.settle(undefined);
    await new Promise((r) => setImmediate(r));
    batcher.enqueue('s', put('s', 2, 10));
    void batcher.flushAll();
    expect(sent[2]!.body.buffer).toBe(first);
    sent[2]!.settle([{ status: 'fulfilled', value: undefined }]);
    await new Promise((r) => setImmediate(r));
    batcher.enqueue('s', put('s', 2, 10));
    void batcher.flushAll();
    expect(sent[3]!.body.buffer).not.toBe(first);
  });

  it('never changes a body before its publish settled, whatever the order of puts, adds and flushes', async () => {
    // A deterministic pseudo-random walk over two subjects with runs written ahead of their turn.
    let x = 12345;
    // mulberry32
    const rnd = (n: number) => {
      x = (x + 0x6d2b79f5) | 0;
      let t = Math.imul(x ^ (x >>> 15), 1 | x);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const { batcher, sent, put, texts } = setup({ events: 40, ms: 1000, bytes: 2048 });
    const pending: Array<[string, BatchItem<null>]> = [];
    const live: Sent[] = [];
    let checked = 0;
    for (let step = 0; step < 1500; step++) {
      const op = rnd(12);
      if (op < 4) {
        const subject = rnd(3) === 0 ? 't' : 's';
        pending.push([subject, put(subject, 1 + rnd(6), rnd(2) === 0 ? 5 : 90 + rnd(400))]);
      } else if (op < 8 && pending.length > 0) {
        // Mostly in order; sometimes one from further back, or bytes from elsewhere.
        const k = rnd(4) === 0 ? rnd(pending.length) : 0;
        const [subject, item] = pending.splice(k, 1)[0]!;
        batcher.enqueue(subject, rnd(8) === 0 ? { ...item, utf8: Buffer.from(item.utf8!) } : item);
      } else if (op === 8 && rnd(2) === 0) {
        void batcher.flushAll();
      } else {
        // Settle a random publish (stored or refused) after checking its body is intact.
        live.push(...sent.splice(0));
        if (live.length > 0) {
          const s = live.splice(rnd(live.length), 1)[0]!;
          expect(s.body.toString()).toBe(s.expected);
          checked++;
          s.settle(rnd(5) === 0 ? [] : undefined);
          await new Promise((r) => setImmediate(r));
        }
      }
      // Every item still reads its own run (a lone event is published from it).
      for (const s of sent) expect(s.expected).toBe(`[${s.ids.map((id) => texts.get(id)).join(',')}]`);
      live.push(...sent.splice(0));
      for (const s of live) expect(s.body.toString()).toBe(s.expected);
    }
    expect(checked).toBeGreaterThan(50);
  }, 60_000);
});
