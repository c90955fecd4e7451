import { decodeDatagram, MemoryTemplateCache } from '@citysoc/flow';
import { FlowExporter, type EncFlow, type ExportVersion } from './encode';
import { Prng } from './prng';

const T0 = Date.UTC(2026, 10, 27, 3, 0, 0);

function randomFlows(rng: Prng, n: number): EncFlow[] {
  return Array.from({ length: n }, () => {
    const proto = rng.pick([6, 17, 1]);
    const startMs = T0 + rng.int(0, 600_000);
    return {
      src: `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
      dst: `203.0.113.${rng.int(1, 254)}`,
      sport: rng.int(1024, 65535),
      dport: rng.pick([22, 53, 443, 445, rng.int(1, 65535)]),
      proto,
      packets: rng.int(1, 100_000),
      bytes: rng.int(40, 2 ** 31),
      startMs,
      endMs: startMs + rng.int(0, 120_000),
      tcpFlags: proto === 6 ? rng.int(0, 63) : 0,
    };
  });
}

describe('FlowExporter round trip through libs/flow decodeDatagram', () => {
  it.each<ExportVersion>(['v5', 'v9', 'ipfix'])(
    '%s: 40 seeded random batches decode to the same flows',
    (version) => {
      for (let seed = 1; seed <= 40; seed++) {
        const rng = new Prng(seed);
        const exporter = new FlowExporter({ version, domain: version === 'v5' ? 0x0102 : 4242 + seed });
        const cache = new MemoryTemplateCache();
        const flows = randomFlows(rng, rng.int(1, 70));
        const exportMs = T0 + 700_000;
        const datagrams = exporter.encode(flows, exportMs);
        const decoded = datagrams.flatMap((d) => {
          const r = decodeDatagram(d, { exporter: '127.0.0.9', receivedAt: new Date(exportMs) }, cache);
          expect(r.errors).toEqual([]);
          return r.records;
        });
        expect(decoded).toHaveLength(flows.length);
        decoded.forEach((r, i) => {
          const f = flows[i]!;
          expect(r.fields).toMatchObject({
            sourceIPv4Address: f.src,
            destinationIPv4Address: f.dst,
            sourceTransportPort: f.sport,
            destinationTransportPort: f.dport,
            protocolIdentifier: f.proto,
            octetDeltaCount: f.bytes,
            packetDeltaCount: f.packets,
            tcpControlBits: f.tcpFlags,
          });
          // v5 carries seconds + nanoseconds in the header, v9 uptimes in ms: both are exact here.
          expect([r.start, r.end]).toEqual([f.startMs, f.endMs]);
          expect(r.domain).toBe(version === 'v5' ? 0x0102 : 4242 + seed);
        });
      }
    },
  );

  it('sends the template first and again every N messages, and counts sequences per protocol', () => {
    const rng = new Prng(7);
    const ex = new FlowExporter({ version: 'ipfix', domain: 9, templateEvery: 2 });
    const a = ex.encode(randomFlows(rng, 3), T0);
    const b = ex.encode(randomFlows(rng, 2), T0);
    const c = ex.encode(randomFlows(rng, 1), T0);
    const setIds = (d: Buffer) => {
      const ids: number[] = [];
      for (let off = 16; off < d.length; off += d.readUInt16BE(off + 2)) ids.push(d.readUInt16BE(off));
      return ids;
    };
    expect([a, b, c].map((x) => setIds(x[0]!))).toEqual([[2, 256], [256], [2, 256]]);
    expect([a, b, c].map((x) => x[0]!.readUInt32BE(8))).toEqual([0, 3, 5]);
  });

  it('data before any template (a collector that restarted) is held, then decoded when the template returns', () => {
    const rng = new Prng(3);
    const ex = new FlowExporter({ version: 'v9', domain: 1, templateEvery: 2 });
    ex.encode(randomFlows(rng, 1), T0); // template + data, lost
    const orphan = ex.encode(randomFlows(rng, 2), T0)[0]!;
    const withTemplate = ex.encode(randomFlows(rng, 1), T0)[0]!;
    const cache = new MemoryTemplateCache();
    const ctx = { exporter: '127.0.0.9', receivedAt: new Date(T0) };
    expect(decodeDatagram(orphan, ctx, cache).records).toHaveLength(0);
    expect(decodeDatagram(withTemplate, ctx, cache).records).toHaveLength(3);
  });

  it('refuses an address that is not IPv4 instead of sending garbage', () => {
    const ex = new FlowExporter({ version: 'v5', domain: 0 });
    const f = randomFlows(new Prng(1), 1)[0]!;
    expect(() => ex.encode([{ ...f, src: '10.0.0.256' }], T0)).toThrow('not an IPv4 address');
  });
});
