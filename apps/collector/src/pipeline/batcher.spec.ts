import { type BatchItem, batchMessage, EVENT_COUNT_HEADER, EventBatcher } from './batcher';

const item = (n: number, pad = 0): BatchItem<number> => ({
  id: `e${n}`,
  json: JSON.stringify({ event: { id: `e${n}` }, message: 'x'.repeat(pad) }),
  origin: n,
});

/** A send that records batches and settles only when the test says so. */
function recorder() {
  const batches: Array<{ subject: string; ids: string[]; settle(r?: PromiseSettledResult<void>[]): void }> =
    [];
  const send = (subject: string, items: ReadonlyArray<BatchItem<number>>) =>
    new Promise<ReadonlyArray<PromiseSettledResult<void>> | void>((resolve) =>
      batches.push({ subject, ids: items.map((i) => i.id), settle: resolve }),
    );
  return { batches, send };
}

describe('batchMessage', () => {
  it('publishes a lone event as itself under its own id', () => {
    const m = batchMessage('s', [item(1)]);
    expect(m.msgId).toBe('e1');
    expect(JSON.parse(Buffer.from(m.data).toString())).toEqual({ event: { id: 'e1' }, message: '' });
    expect(m.headers?.[EVENT_COUNT_HEADER]).toBe('1');
  });

  it('publishes several as a JSON array whose id depends only on the ordered event ids', () => {
    const a = batchMessage('s', [item(1), item(2)]);
    const again = batchMessage('s', [item(1), { ...item(2), json: '{"other":1}' }]);
    const reordered = batchMessage('s', [item(2), item(1)]);
    const fewer = batchMessage('s', [item(1), item(2), item(3)]);
    expect(JSON.parse(Buffer.from(a.data).toString())).toEqual([
      { event: { id: 'e1' }, message: '' },
      { event: { id: 'e2' }, message: '' },
    ]);
    expect(a.headers?.[EVENT_COUNT_HEADER]).toBe('2');
    expect(again.msgId).toBe(a.msgId);
    expect(new Set([a.msgId, reordered.msgId, fewer.msgId]).size).toBe(3);
  });

  it('counts the events of runs (items holding several events) in the header, id and array', () => {
    const run = (ids: number[]): BatchItem<number> => ({
      id: `r${ids[0]}-${ids.length}`,
      json: ids.map((n) => item(n).json).join(','),
      events: ids.length,
      origin: ids[0]!,
    });
    const m = batchMessage('s', [run([1, 2, 3]), run([4, 5])], 'fb');
    expect((JSON.parse(Buffer.from(m.data).toString()) as unknown[]).length).toBe(5);
    expect(m.headers?.[EVENT_COUNT_HEADER]).toBe('5');
    expect(m.msgId).toMatch(/^fb-[0-9a-f]{40}-5$/);
    // A lone run of several events is still an array, never a bare document.
    const lone = batchMessage('s', [run([1, 2])], 'fb');
    expect(JSON.parse(Buffer.from(lone.data).toString())).toHaveLength(2);
    expect(lone.msgId).toMatch(/^fb-[0-9a-f]{40}-2$/);
    expect(batchMessage('s', [run([1, 2])], 'fb').msgId).toBe(lone.msgId);
    expect(batchMessage('s', [run([1]), run([2])], 'fb').msgId).not.toBe(lone.msgId);
  });

  it('refuses an empty batch', () => {
    expect(() => batchMessage('s', [])).toThrow('empty batch');
  });
});

describe('EventBatcher', () => {
  // Fake timers: no test waits on the clock, and batches a test leaves open keep no real timer alive.
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('counts the events of runs against the event limit', () => {
    const r = recorder();
    const b = new EventBatcher({ events: 5, ms: 60_000, bytes: 1 << 20 }, r.send);
    void b.add('a', { ...item(1), events: 3 });
    expect(b.buffered).toBe(3);
    expect(r.batches).toHaveLength(0);
    void b.add('a', { ...item(2), events: 2 });
    expect(r.batches.map((x) => x.ids)).toEqual([['e1', 'e2']]);
    expect(b.buffered).toBe(0);
  });

  it('publishes a batch when it holds the event limit, per subject, and settles its events on the ack', async () => {
    const r = recorder();
    const b = new EventBatcher({ events: 3, ms: 60_000, bytes: 1 << 20 }, r.send);
    const settled: string[] = [];
    const add = (s: string, n: number) => void b.add(s, item(n)).then(() => settled.push(`e${n}`));
    add('a', 1);
    add('b', 2);
    add('a', 3);
    expect(r.batches).toHaveLength(0);
    add('a', 4);
    expect(r.batches.map((x) => [x.subject, x.ids])).toEqual([['a', ['e1', 'e3', 'e4']]]);
    expect(b.buffered).toBe(1);
    await Promise.resolve();
    expect(settled).toEqual([]);
    r.batches[0]!.settle();
    const flushed = b.flushAll();
    r.batches[1]!.settle();
    await flushed;
    expect(settled.sort()).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(r.batches.map((x) => [x.subject, x.ids])).toEqual([
      ['a', ['e1', 'e3', 'e4']],
      ['b', ['e2']],
    ]);
  });

  it('starts a new batch before the byte limit would be passed', () => {
    const r = recorder();
    const b = new EventBatcher({ events: 100, ms: 60_000, bytes: 250 }, r.send);
    for (const n of [1, 2, 3]) void b.add('a', item(n, 80));
    expect(r.batches.map((x) => x.ids)).toEqual([['e1', 'e2']]);
    expect(b.buffered).toBe(1);
  });

  it('publishes an event larger than the byte limit on its own', () => {
    const r = recorder();
    const b = new EventBatcher({ events: 100, ms: 60_000, bytes: 100 }, r.send);
    void b.add('a', item(1));
    void b.add('a', item(2, 500));
    expect(r.batches.map((x) => x.ids)).toEqual([['e1'], ['e2']]);
    expect(b.buffered).toBe(0);
  });

  it('publishes a partial batch when its time is up', () => {
    const r = recorder();
    const b = new EventBatcher({ events: 100, ms: 20, bytes: 1 << 20 }, r.send);
    void b.add('a', item(1));
    jest.advanceTimersByTime(10);
    void b.add('a', item(2));
    expect(r.batches).toHaveLength(0);
    jest.advanceTimersByTime(10);
    expect(r.batches.map((x) => x.ids)).toEqual([['e1', 'e2']]);
  });

  it('rejects exactly the events whose dead letter failed, and all of them when the send fails', async () => {
    const r = recorder();
    const b = new EventBatcher({ events: 2, ms: 60_000, bytes: 1 << 20 }, r.send);
    const outcome = (p: Promise<void>) =>
      p.then(
        () => 'stored',
        (e: unknown) => `failed: ${String(e)}`,
      );
    const first = [outcome(b.add('a', item(1))), outcome(b.add('a', item(2)))];
    r.batches[0]!.settle([
      { status: 'fulfilled', value: undefined },
      { status: 'rejected', reason: 'dead letter refused' },
    ]);
    expect(await Promise.all(first)).toEqual(['stored', 'failed: dead letter refused']);

    const failing = new EventBatcher({ events: 2, ms: 60_000, bytes: 1 << 20 }, () =>
      Promise.reject(new Error('closed')),
    );
    expect(
      await Promise.all([outcome(failing.add('a', item(3))), outcome(failing.add('a', item(4)))]),
    ).toEqual(['failed: Error: closed', 'failed: Error: closed']);
  });

  it('gives the events of one batch one settlement and their positions in it', async () => {
    const r = recorder();
    const b = new EventBatcher({ events: 2, ms: 60_000, bytes: 1 << 20 }, r.send);
    const [t1, t2, t3] = [1, 2, 3].map((n) => b.enqueue('a', item(n)));
    expect(t1!.done).toBe(t2!.done);
    expect(t3!.done).not.toBe(t1!.done);
    expect([t1!.index, t2!.index, t3!.index]).toEqual([0, 1, 0]);
    const outcomes = [
      { status: 'fulfilled', value: undefined },
      { status: 'rejected', reason: 'x' },
    ] as const;
    r.batches[0]!.settle([...outcomes]);
    await expect(t1!.done).resolves.toEqual(outcomes);
    const flushed = b.flushAll();
    r.batches[1]!.settle();
    await flushed;
    await expect(t3!.done).resolves.toBeUndefined();
  });
});
