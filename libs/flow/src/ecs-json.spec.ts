import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeDatagram } from './decode';
import { flowToEcs } from './ecs';
import { type FlowJsonOptions, flowToEcsJson } from './ecs-json';
import { textFields } from './records';
import { ipv4Text } from './values';
import { cat, ip, ipfix, set, spec, u16, u32, u8, v5, v9, varlen } from './spec-helpers';
import { type ExporterFacts, MemoryTemplateCache } from './templates';

/**
 * flowToEcsJson must write exactly what the reference mapping gives: JSON.stringify(flowToEcs(...)) with
 * the units attachUnits would add. Compared byte for byte on hand-made datagrams (always) and on every
 * record of the flow corpus (when present), with and without sampling facts, interface names and units.
 */

const receivedAt = new Date(Date.UTC(2026, 10, 27, 12, 0, 0, 123));

/** Units as the collector would attach them: a couple of made-up ones, by address prefix. */
const unitJson = (address: string): string | undefined =>
  address.startsWith('10.') || address.startsWith('192.0.2.')
    ? JSON.stringify({ id: 'hanoi/ba-dinh', name: 'Ba Đình "ward"', criticality: 'high' })
    : address.startsWith('2001:db8:')
      ? JSON.stringify({ id: 'hanoi/v6' })
      : undefined;

function reference(rec: Parameters<typeof flowToEcs>[0], opts: FlowJsonOptions): string {
  const doc = flowToEcs(rec, opts);
  if (opts.unitJson) {
    const c = doc.citysoc as Record<string, unknown>;
    const u = opts.unitJson(rec.exporter);
    if (u) c['unit'] = JSON.parse(u);
    const s = doc.source?.ip ? opts.unitJson(doc.source.ip) : undefined;
    if (s) c['source_unit'] = JSON.parse(s);
    const d = doc.destination?.ip ? opts.unitJson(doc.destination.ip) : undefined;
    if (d) c['destination_unit'] = JSON.parse(d);
  }
  return JSON.stringify(doc);
}

const facts: ExporterFacts = {
  samplingRate: 10,
  samplers: { 3: 100 },
  interfaces: { 0: 'lo', 1: 'eth0 "uplink"', 2: 'eth1' },
};
const variants: Array<[string, (f?: ExporterFacts) => FlowJsonOptions]> = [
  ['plain', () => ({ receivedAt })],
  ['options facts', (f) => ({ receivedAt, facts: f })],
  ['sampling facts, interface names, units', () => ({ receivedAt, facts, unitJson })],
  [
    'units of IPv4 numbers',
    () => ({ receivedAt, facts, unitJson, unitJsonV4: (n: number) => unitJson(ipv4Text(n)) }),
  ],
];

/** Decodes the datagrams in order (one exporter) and compares both paths on every record. */
function compare(datagrams: Buffer[], exporter = '192.0.2.1'): { records: number; mismatches: string[] } {
  const cache = new MemoryTemplateCache();
  // The same datagrams decoded as the collector does (IPv4 as numbers) must give the same documents.
  const numCache = new MemoryTemplateCache();
  const mismatches: string[] = [];
  let records = 0;
  for (const d of datagrams) {
    const r = decodeDatagram(d, { exporter, receivedAt }, cache);
    const n = decodeDatagram(d, { exporter, receivedAt, numericAddresses: true }, numCache);
    expect(r.layouts.length).toBe(r.records.length);
    expect(n.records.length).toBe(r.records.length);
    r.records.forEach((rec, i) => {
      records++;
      const num = n.records[i]!;
      const text = textFields(num, n.layouts[i]!);
      if (JSON.stringify(text) !== JSON.stringify(rec.fields) && mismatches.length < 5)
        mismatches.push(`textFields:\n${JSON.stringify(text)}\n${JSON.stringify(rec.fields)}`);
      const scopeFacts =
        rec.version === 5 ? undefined : cache.facts({ exporter, version: rec.version, domain: rec.domain });
      for (const [name, opts] of variants) {
        const o = opts(scopeFacts);
        const want = reference(rec, o);
        const got = flowToEcsJson(rec, r.layouts[i]!, o);
        if (got !== want && mismatches.length < 5) mismatches.push(`${name}:\n${got}\n${want}`);
        const gotNum = flowToEcsJson(num, n.layouts[i]!, o);
        if (gotNum !== want && mismatches.length < 5)
          mismatches.push(`${name} (numeric addresses):\n${gotNum}\n${want}`);
      }
    });
  }
  return { records, mismatches };
}

describe('flowToEcsJson (hand-made datagrams)', () => {
  const T0 = 1_700_000_000;
  const flowTemplate = set(
    2,
    u16(300),
    u16(14),
    spec(8, 4), // sourceIPv4Address
    spec(12, 4), // destinationIPv4Address
    spec(7, 2), // sourceTransportPort
    spec(11, 2), // destinationTransportPort
    spec(4, 1), // protocolIdentifier
    spec(1, 8), // octetDeltaCount
    spec(2, 4), // packetDeltaCount
    spec(56, 6), // sourceMacAddress
    spec(80, 6), // destinationMacAddress
    spec(10, 4), // ingressInterface
    spec(61, 1), // flowDirection
    spec(32, 2), // icmpTypeCodeIPv4
    spec(302, 4), // selectorId
    spec(82, 65535), // interfaceName (variable length text)
  );
  const flow = (src: string, dst: string, sp: number, dp: number, proto: number, name: string, dir = 0) =>
    cat(
      ip(src),
      ip(dst),
      u16(sp),
      u16(dp),
      u8(proto),
      u32(0),
      u32(1500),
      u32(3),
      Buffer.from([0, 0x50, 0x56, 0xab, 0xcd, 0xef]),
      Buffer.from([0xfe, 0, 0, 0, 0, 1]),
      u32(1),
      u8(dir),
      u16(0x0800),
      u32(3),
      varlen(name),
    );
  const biflowTemplate = set(
    2,
    u16(301),
    u16(9),
    spec(27, 16), // sourceIPv6Address
    spec(28, 16), // destinationIPv6Address
    spec(4, 1),
    spec(1, 4),
    spec(2, 4),
    spec(1, 4, 29305), // reverse octetDeltaCount
    spec(2, 4, 29305), // reverse packetDeltaCount
    spec(152, 8), // flowStartMilliseconds
    spec(153, 8), // flowEndMilliseconds
  );
  const v6 = (a: string) =>
    Buffer.from(a.split(':').flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]));
  const biflow = cat(
    v6('2001:0db8:0:0:0:0:0:1'),
    v6('2001:0db8:0:0:0:0:0:2'),
    u8(17),
    u32(100),
    u32(2),
    u32(300),
    u32(4),
    u32(Math.floor((T0 * 1000) / 2 ** 32)),
    u32((T0 * 1000) % 2 ** 32),
    u32(Math.floor((T0 * 1000 + 2500) / 2 ** 32)),
    u32((T0 * 1000 + 2500) % 2 ** 32),
  );
  // The same element twice: the record keeps the first position and the last value (reference path).
  const twiceTemplate = set(2, u16(302), u16(3), spec(8, 4), spec(12, 4), spec(8, 4));
  const samplingOptions = cat(
    set(3, u16(310), u16(3), u16(1), spec(302, 4), spec(305, 4), spec(306, 4)),
    set(310, u32(3), u32(1), u32(49)),
  );

  it.each([
    [
      'TCP, UDP, ICMP with MACs, interface, direction, a quoting interface name',
      [
        ipfix(
          1,
          T0,
          7,
          flowTemplate,
          set(300, flow('10.0.0.1', '10.0.0.2', 443, 51000, 6, 'eth0 "up"\n\u00e9')),
        ),
        ipfix(
          2,
          T0,
          7,
          set(
            300,
            flow('10.0.0.2', '10.0.0.1', 53, 53, 17, '', 1),
            flow('10.0.0.1', '8.8.8.8', 0, 0x0800, 1, 'x', 2),
          ),
        ),
      ],
    ],
    [
      'options data first: sampler rate applied, then flows of that sampler',
      [ipfix(1, T0, 7, samplingOptions, flowTemplate, set(300, flow('10.0.0.1', '10.0.0.1', 1, 2, 6, 'lo')))],
    ],
    [
      'IPv6 biflow with reverse counters and absolute times',
      [ipfix(1, T0, 8, biflowTemplate, set(301, biflow))],
    ],
    [
      'an element twice in a template',
      [ipfix(1, T0, 9, twiceTemplate, set(302, ip('10.0.0.1'), ip('10.0.0.2'), ip('10.0.0.3')))],
    ],
    [
      'NetFlow v5 with a sampling interval in the header',
      [
        v5(
          1,
          T0,
          10_000,
          [
            {
              src: '10.0.0.1',
              dst: '10.0.0.9',
              sport: 1,
              dport: 2,
              proto: 6,
              packets: 2,
              bytes: 100,
              first: 9000,
              last: 9500,
            },
          ],
          0x4000 | 5,
        ),
      ],
    ],
    [
      'NetFlow v9 with a zero-length field',
      [
        v9(
          1,
          T0,
          5000,
          3,
          set(0, u16(260), u16(3), u16(8), u16(4), u16(12), u16(0), u16(4), u16(1)),
          set(260, ip('10.1.1.1'), u8(6)),
        ),
      ],
    ],
  ] as Array<[string, Buffer[]]>)('%s', (_name, datagrams) => {
    const { records, mismatches } = compare(datagrams);
    expect(records).toBeGreaterThan(0);
    expect(mismatches).toEqual([]);
  });
});

const repoRoot = path.resolve(__dirname, '../../..');
const flowDir = path.join(
  process.env.CITYSOC_CORPUS_DIR ?? path.resolve(repoRoot, '../shared/corpus'),
  'flow',
);
const corpusPresent = fs.existsSync(path.join(flowDir, 'manifest.json'));
if (!corpusPresent) console.warn(`flowToEcsJson corpus comparison skipped: no corpus at ${flowDir}`);

/** Every folder of the corpus holding datagram files (.bin, .dat), its files in name order. */
function datagramFolders(dir: string, out = new Map<string, string[]>()): Map<string, string[]> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) datagramFolders(p, out);
    else if (/\.(bin|dat)$/.test(e.name)) out.set(dir, [...(out.get(dir) ?? []), p]);
  }
  return out;
}

(corpusPresent ? describe : describe.skip)('flowToEcsJson (flow corpus)', () => {
  it('writes the reference JSON for every record of every corpus folder', () => {
    let total = 0;
    const bad: string[] = [];
    for (const [dir, files] of datagramFolders(flowDir)) {
      const { records, mismatches } = compare(files.map((f) => fs.readFileSync(f)));
      total += records;
      if (mismatches.length > 0) bad.push(`${path.relative(flowDir, dir)}: ${mismatches[0]}`);
    }
    expect(bad).toEqual([]);
    // softflowd's 2216 flows alone; the logstash and pmacct cases add more.
    expect(total).toBeGreaterThan(2216);
  });
});
