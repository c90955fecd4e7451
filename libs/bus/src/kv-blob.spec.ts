import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { type JetStreamManager, type KV, type KvEntry } from 'nats';
import {
  assemble,
  type BlobManifest,
  isRevisionConflict,
  KvBlobStore,
  parseManifest,
  splitChunks,
} from './kv-blob';

const manifestOf = (raw: Buffer, chunkBytes: number): { m: BlobManifest; chunks: Buffer[] } => {
  const packed = raw.length === 0 ? Buffer.alloc(0) : deflateRawSync(raw, { level: 1 });
  const chunks = splitChunks(packed, chunkBytes);
  return {
    chunks,
    m: {
      format: 'citysoc-kv-blob/1',
      generation: 'mabc123-0a1b2c3d',
      chunks: chunks.length,
      bytes: packed.length,
      rawBytes: raw.length,
      sha256: createHash('sha256').update(packed).digest('hex'),
      encoding: 'deflate-raw',
    },
  };
};

describe('splitChunks', () => {
  it.each([
    ['empty', 0, 4, []],
    ['shorter than a chunk', 3, 4, [3]],
    ['exactly one chunk', 4, 4, [4]],
    ['exactly two chunks', 8, 4, [4, 4]],
    ['one byte over', 9, 4, [4, 4, 1]],
  ])('%s: %i bytes in chunks of %i → %j', (_name, length, size, lengths) => {
    const data = Buffer.from(Array.from({ length }, (_, i) => i % 251));
    const chunks = splitChunks(data, size);
    expect(chunks.map((c) => c.length)).toEqual(lengths);
    expect(Buffer.concat(chunks)).toEqual(data);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses chunk size %p', (size) => {
    expect(() => splitChunks(Buffer.from('x'), size)).toThrow(RangeError);
  });
});

describe('parseManifest', () => {
  const { m } = manifestOf(Buffer.from('{"a":1}'), 16);

  it('reads a manifest', () => {
    expect(parseManifest(Buffer.from(JSON.stringify(m)))).toEqual(m);
  });

  it.each([
    ['legacy detector state', '{"correlatedUpTo":12,"state":{"groups":[]}}'],
    ['legacy partition state', '{"upTo":3,"state":{}}'],
    ['not JSON', '{"upTo":'],
    ['a JSON array', '[1,2]'],
  ])('takes %s for a legacy value', (_name, text) => {
    expect(parseManifest(Buffer.from(text))).toBeUndefined();
  });

  it('takes a value larger than any manifest for legacy without parsing it', () => {
    const big = JSON.stringify({ format: 'citysoc-kv-blob/1', pad: 'x'.repeat(5000) });
    expect(parseManifest(Buffer.from(big))).toBeUndefined();
  });

  it.each([
    ['a generation that could address other keys', { generation: 'a.>' }],
    ['a negative chunk count', { chunks: -1 }],
    ['a short hash', { sha256: 'abc' }],
    ['an unknown encoding', { encoding: 'gzip' }],
  ])('refuses a manifest with %s', (_name, patch) => {
    expect(() => parseManifest(Buffer.from(JSON.stringify({ ...m, ...patch })))).toThrow(
      /malformed manifest/,
    );
  });
});

describe('assemble', () => {
  const raw = Buffer.from(JSON.stringify({ groups: Array.from({ length: 2000 }, (_, i) => `10.0.${i}`) }));

  it('round-trips a value over several chunks', async () => {
    const { m, chunks } = manifestOf(raw, 64);
    expect(chunks.length).toBeGreaterThan(2);
    expect(await assemble(m, chunks)).toEqual(raw);
  });

  it('round-trips an empty value (no chunk)', async () => {
    const { m, chunks } = manifestOf(Buffer.alloc(0), 64);
    expect(m.chunks).toBe(0);
    expect(await assemble(m, chunks)).toEqual(Buffer.alloc(0));
  });

  it('round-trips a compressed value of exactly one chunk', async () => {
    const packedLength = deflateRawSync(raw, { level: 1 }).length;
    const { m, chunks } = manifestOf(raw, packedLength);
    expect(chunks.map((c) => c.length)).toEqual([packedLength]);
    expect(await assemble(m, chunks)).toEqual(raw);
  });

  it('names a missing chunk', async () => {
    const { m, chunks } = manifestOf(raw, 64);
    await expect(assemble(m, [chunks[0], undefined, ...chunks.slice(2)])).rejects.toThrow(
      `chunk 1 of ${m.chunks} missing`,
    );
  });

  it('refuses a chunk whose bytes changed (same length)', async () => {
    const { m, chunks } = manifestOf(raw, 64);
    const bad = Buffer.from(chunks[1]!);
    bad[0] = bad[0]! ^ 0xff;
    await expect(assemble(m, [chunks[0], bad, ...chunks.slice(2)])).rejects.toThrow(
      /sha256 .* does not match/,
    );
  });

  it('refuses a truncated chunk', async () => {
    const { m, chunks } = manifestOf(raw, 64);
    await expect(assemble(m, [chunks[0], chunks[1]!.subarray(1), ...chunks.slice(2)])).rejects.toThrow(
      `${m.bytes - 1} bytes, manifest says ${m.bytes}`,
    );
  });

  it('refuses a value that inflates to another length than recorded', async () => {
    const { m, chunks } = manifestOf(raw, 64);
    await expect(assemble({ ...m, rawBytes: m.rawBytes + 1 }, chunks)).rejects.toThrow(/inflated to/);
  });
});

describe('isRevisionConflict', () => {
  it.each([
    ['wrong last sequence: 7', true],
    ['key exists', true],
    ['TIMEOUT', false],
    ['MAX_PAYLOAD_EXCEEDED', false],
  ])('%s → %p', (message, conflict) => {
    expect(isRevisionConflict(new Error(message))).toBe(conflict);
  });
});

describe('KvBlobStore.read when the last-message lookup misses', () => {
  /** A bucket whose `get` finds nothing (nats-server's per-subject lookup out of step) but whose messages
   * a consumer still reads (`history`). */
  function bucket(entries: Record<string, Buffer>): KV {
    const entry = (key: string, value: Buffer, revision: number): KvEntry =>
      ({ key, value, revision, operation: 'PUT' }) as unknown as KvEntry;
    return {
      get: async () => null,
      history: async ({ key }: { key: string }) =>
        (async function* () {
          if (entries[key]) yield entry(key, entries[key], 7);
        })(),
    } as unknown as KV;
  }

  it('reads the entry through a consumer instead of taking the miss for an absent key', async () => {
    const legacy = Buffer.from(JSON.stringify({ correlatedUpTo: 42, state: {} }));
    const store = new KvBlobStore(bucket({ state: legacy }), {} as JetStreamManager);
    expect(await store.read('state')).toEqual({ data: legacy, revision: 7, format: 'legacy' });
    expect(store.lookupMisses).toBe(1);
  });

  it('reads a chunked value whose manifest and chunks all miss the lookup', async () => {
    const raw = Buffer.from('x'.repeat(5000) + 'correlation windows');
    const { m, chunks } = manifestOf(raw, 1024);
    const entries: Record<string, Buffer> = { state: Buffer.from(JSON.stringify(m)) };
    chunks.forEach((c, i) => (entries[`state.g.${m.generation}.${i}`] = c));
    const store = new KvBlobStore(bucket(entries), {} as JetStreamManager);
    const got = await store.read('state');
    expect(got?.format).toBe('chunked');
    expect(got?.data.equals(raw)).toBe(true);
  });

  it('still reports an absent key as absent', async () => {
    expect(await new KvBlobStore(bucket({}), {} as JetStreamManager).read('state')).toBeUndefined();
  });
});
