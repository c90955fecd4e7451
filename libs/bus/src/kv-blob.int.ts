import { randomBytes } from 'node:crypto';
import { type KV } from 'nats';
import { cleanupStreams, testBusSettings, uniquePrefix } from '@citysoc/testing';
import { KvBlobError, KvBlobStore } from './kv-blob';
import { openKv } from './kv';
import { type Bus, openBus } from './open';

/** Hex of random bytes: compresses to about half, so 3 MiB of it needs several 256 KiB chunks. */
const bigValue = (mib: number): Buffer =>
  Buffer.from(JSON.stringify({ state: randomBytes(Math.floor((mib * 1024 * 1024) / 2)).toString('hex') }));

describe('large values on a NATS KV bucket (real NATS)', () => {
  let prefix: string;
  let bus: Bus;
  let kv: KV;
  beforeEach(async () => {
    prefix = uniquePrefix();
    bus = await openBus(testBusSettings(prefix), 'test');
    kv = await openKv(bus, 'blob');
  });
  afterEach(async () => {
    await bus.close();
    await cleanupStreams(prefix);
  });

  const keysUnder = async (filter: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const k of await kv.keys(filter)) out.push(k);
    return out.sort();
  };
  const generations = async (): Promise<string[]> =>
    [...new Set((await keysUnder('state.g.>')).map((k) => k.split('.')[2]!))].sort();

  it('stores a value over the 1 MiB max payload in chunks, and purges the old generation on the next write', async () => {
    const store = new KvBlobStore(kv, bus.jsm);
    const first = bigValue(3);
    expect(first.length).toBeGreaterThan(1024 * 1024);
    await store.write('state', first);
    const read = await new KvBlobStore(kv, bus.jsm).read('state');
    expect(read?.format).toBe('chunked');
    expect(read?.data.equals(first)).toBe(true);
    const [gen1] = await generations();
    expect((await keysUnder(`state.g.${gen1}.>`)).length).toBeGreaterThan(1);

    const second = bigValue(2);
    await store.write('state', second);
    const gens = await generations();
    expect(gens).toHaveLength(1);
    expect(gens[0]).not.toBe(gen1);
    expect((await new KvBlobStore(kv, bus.jsm).read('state'))?.data.equals(second)).toBe(true);
  }, 60_000);

  it('reads a legacy single value as it is, and replaces it by compare-and-set on its revision', async () => {
    const legacy = Buffer.from(JSON.stringify({ correlatedUpTo: 41, state: { groups: ['10.0.0.1'] } }));
    const legacyRev = await kv.put('state', legacy);
    const store = new KvBlobStore(kv, bus.jsm);
    const read = await store.read('state');
    expect(read).toEqual({ data: legacy, revision: legacyRev, format: 'legacy' });
    const next = Buffer.from(JSON.stringify({ correlatedUpTo: 42, state: { groups: [] } }));
    const rev = await store.write('state', next, legacyRev);
    expect(rev).toBeGreaterThan(legacyRev);
    expect(await store.read('state')).toEqual({ data: next, revision: rev, format: 'chunked' });
  });

  it('refuses a stale writer (compare-and-set on the manifest) and leaves no chunk of its write behind', async () => {
    const owner = new KvBlobStore(kv, bus.jsm);
    const stale = new KvBlobStore(kv, bus.jsm);
    const rev1 = await owner.write('state', bigValue(1.5), 0);
    expect((await stale.read('state'))?.revision).toBe(rev1);
    // The new owner writes first; the replica that lost its lease still holds revision rev1.
    const newer = bigValue(1.5);
    const rev2 = await owner.write('state', newer, rev1);
    await expect(stale.write('state', bigValue(1.5), rev1)).rejects.toThrow(/wrong last sequence/i);
    // Creating over an existing state is refused just the same.
    await expect(stale.write('state', bigValue(0.1), 0)).rejects.toThrow(/wrong last sequence|key exists/i);
    expect(await generations()).toHaveLength(1);
    const read = await owner.read('state');
    expect(read?.revision).toBe(rev2);
    expect(read?.data.equals(newer)).toBe(true);
  }, 60_000);

  it('keeps the previous value readable when a writer dies between its chunks and its manifest, and sweeps the orphans', async () => {
    const store = new KvBlobStore(kv, bus.jsm, { orphanGraceMs: 0 });
    const previous = bigValue(1.5);
    await store.write('state', previous);
    const [kept] = await generations();
    // The manifest put fails as if the process had been killed after its chunks.
    const dying = new Proxy(kv, {
      get(target, prop, receiver) {
        if (prop === 'put')
          return (key: string, v: Uint8Array) =>
            key === 'state' ? Promise.reject(new Error('killed')) : target.put(key, v);
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    await expect(new KvBlobStore(dying, bus.jsm).write('state', bigValue(1.5))).rejects.toThrow('killed');
    // Not a refused compare-and-set, so the manifest may have landed: the chunks stay for the sweep.
    const gens = await generations();
    expect(gens).toHaveLength(2);
    const orphan = gens.find((g) => g !== kept)!;

    const restarted = new KvBlobStore(kv, bus.jsm, { orphanGraceMs: 0 });
    expect((await restarted.read('state'))?.data.equals(previous)).toBe(true);
    expect(await restarted.sweep('state')).toEqual([orphan]);
    expect(await generations()).toEqual([kept]);
    expect((await restarted.read('state'))?.data.equals(previous)).toBe(true);
  }, 60_000);

  it('leaves a recent other generation alone when sweeping (a writer may still be finishing it)', async () => {
    const store = new KvBlobStore(kv, bus.jsm);
    await store.write('state', Buffer.from('{"a":1}'));
    const young = `${Date.now().toString(36)}-0badf00d`;
    await kv.put(`state.g.${young}.0`, Buffer.from('in progress'));
    expect(await store.sweep('state')).toEqual([]);
    expect(await generations()).toContain(young);
  });

  it('reports a corrupt or missing chunk with the key, the generation and the manifest revision', async () => {
    const store = new KvBlobStore(kv, bus.jsm);
    const rev = await store.write('state', bigValue(1.5));
    const [gen] = await generations();
    await kv.put(`state.g.${gen}.1`, Buffer.from('garbage'));
    const corrupt = await store.read('state').catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(KvBlobError);
    expect((corrupt as KvBlobError).revision).toBe(rev);
    expect((corrupt as KvBlobError).message).toMatch(
      new RegExp(`^state generation ${gen}: \\d+ bytes, manifest says`),
    );

    await kv.delete(`state.g.${gen}.1`);
    await expect(store.read('state')).rejects.toThrow(`state generation ${gen}: chunk 1 of`);
    // The manifest's revision is still the fence: a writer replaces the unreadable value.
    await store.write('state', Buffer.from('{"fresh":true}'), rev);
    expect((await store.read('state'))?.data.toString()).toBe('{"fresh":true}');
  }, 60_000);

  it('stores an empty value without chunks', async () => {
    const store = new KvBlobStore(kv, bus.jsm);
    const rev = await store.write('state', Buffer.alloc(0));
    expect(await generations()).toEqual([]);
    expect(await store.read('state')).toEqual({ data: Buffer.alloc(0), revision: rev, format: 'chunked' });
  });
});
