import { communityId } from './community-id';
import { decodeDatagram, flowRecordId } from './decode';
import { flowToEcs, flowVersionOf, fullFlowFields, isOptionsDoc } from './ecs';
import { SequenceTracker } from './sequence';
import { cat, ip, ipfix, set, spec, u16, u32, u8, v5 } from './spec-helpers';
import { MemoryTemplateCache } from './templates';
import type { FlowRecord } from './types';

const receivedAt = new Date('2026-11-27T12:00:00Z');
const ctx = { exporter: '192.0.2.1', receivedAt };

describe('Community ID v1', () => {
  it.each([
    // Reference values from the Community ID spec's README and baseline (seed 0).
    ['TCP', '128.232.110.120', '66.35.250.204', 6, 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  ])('matches the specification for %s', (_name, s, d, proto, sp, dp, want) => {
    expect(communityId(s, d, proto, sp, dp)).toBe(want);
  });

  it.each([
    ['TCP over IPv4', '10.0.0.1', '10.0.0.2', 6, 40000, 443],
    ['UDP over IPv6', '2001:db8::1', 'fe80::2', 17, 5353, 53],
    ['ICMP echo request and reply', '10.0.0.1', '10.0.0.2', 1, 8, 0],
  ])('gives both directions of %s the same id', (_name, s, d, proto, sp, dp) => {
    const fwd = communityId(s, d, proto, sp, dp);
    const back = proto === 1 ? communityId(d, s, proto, 0, 0) : communityId(d, s, proto, dp, sp);
    expect(fwd).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(back).toBe(fwd);
  });

  it('changes with the seed and refuses mixed address families', () => {
    expect(communityId('10.0.0.1', '10.0.0.2', 6, 1, 2, 1)).not.toBe(
      communityId('10.0.0.1', '10.0.0.2', 6, 1, 2, 0),
    );
    expect(communityId('10.0.0.1', '::1', 6, 1, 2)).toBeUndefined();
  });
});

describe('flowToEcs', () => {
  it('maps a v5 flow to source, destination, network, event times and observer', () => {
    const buf = v5(3, 1_700_000_000, 10_000, [
      {
        src: '10.0.0.1',
        dst: '10.0.0.2',
        sport: 40000,
        dport: 22,
        proto: 6,
        packets: 10,
        bytes: 1500,
        first: 1000,
        last: 3000,
      },
    ]);
    const [rec] = decodeDatagram(buf, ctx, new MemoryTemplateCache()).records;
    const doc = flowToEcs(rec!, { receivedAt });
    expect(doc).toMatchObject({
      '@timestamp': new Date(1_700_000_000_000 - 7000).toISOString(),
      event: {
        id: flowRecordId(rec!),
        kind: 'event',
        category: ['network'],
        type: ['connection'],
        start: new Date(1_700_000_000_000 - 9000).toISOString(),
        end: new Date(1_700_000_000_000 - 7000).toISOString(),
        duration: 2000 * 1_000_000,
        created: receivedAt.toISOString(),
      },
      source: { ip: '10.0.0.1', port: 40000, bytes: 1500, packets: 10 },
      destination: { ip: '10.0.0.2', port: 22 },
      network: {
        transport: 'tcp',
        iana_number: '6',
        bytes: 1500,
        packets: 10,
        type: 'ipv4',
        community_id: communityId('10.0.0.1', '10.0.0.2', 6, 40000, 22),
      },
      observer: {
        ip: ['192.0.2.1'],
        ingress: { interface: { id: '3' } },
        egress: { interface: { id: '4' } },
      },
      related: { ip: ['10.0.0.1', '10.0.0.2'] },
      flow: { sequence: 3 },
      citysoc: { parser: 'netflow5' },
    });
    // Stated once: the exporter is observer.ip, the version citysoc.parser, options data event.type info.
    expect(doc.flow).not.toHaveProperty('exporter');
    expect(doc.flow).not.toHaveProperty('version');
    expect(doc.flow).not.toHaveProperty('options_data');
    expect(flowVersionOf(doc)).toBe(5);
    expect(isOptionsDoc(doc)).toBe(false);
    // Carried by source.bytes (sampling rate 1), so written once; fullFlowFields gives it back.
    expect(doc.flow.fields['octetDeltaCount']).toBeUndefined();
    expect(fullFlowFields(doc)).toEqual(rec!.fields);
  });

  it('leaves out of flow.fields only elements an ECS field carries verbatim, and restores every element', () => {
    const rec = (fields: Record<string, number | string | boolean>, options = false): FlowRecord => ({
      version: 10,
      exporter: '192.0.2.1',
      domain: 0,
      templateId: 256,
      sequence: 1,
      exportTime: 1_700_000_000_000,
      messageIndex: 0,
      setIndex: 0,
      recordIndex: 0,
      options,
      fields,
    });
    const cases: Array<[string, FlowRecord, string[]]> = [
      [
        'IPv4 TCP flow',
        rec({
          sourceIPv4Address: '10.0.0.1',
          destinationIPv4Address: '10.0.0.2',
          sourceTransportPort: 1234,
          destinationTransportPort: 80,
          protocolIdentifier: 6,
          octetDeltaCount: 500,
          packetDeltaCount: 5,
          ingressInterface: 7,
          egressInterface: 8,
          flowDirection: 1,
          tcpControlBits: 18,
        }),
        ['tcpControlBits'],
      ],
      [
        'udp ports and physical interfaces stay (not the first candidate), direction 2 stays (unknown)',
        rec({
          sourceIPv6Address: '2001:db8::1',
          destinationIPv6Address: '2001:db8::2',
          udpSourcePort: 53,
          udpDestinationPort: 5353,
          protocolIdentifier: 17,
          octetTotalCount: 99,
          ingressPhysicalInterface: 3,
          flowDirection: 2,
        }),
        [
          'udpSourcePort',
          'udpDestinationPort',
          'octetTotalCount',
          'ingressPhysicalInterface',
          'flowDirection',
        ],
      ],
      [
        'ICMP keeps its ports, a sampled record keeps its counters',
        rec({
          sourceIPv4Address: '10.0.0.1',
          destinationIPv4Address: '10.0.0.2',
          sourceTransportPort: 0,
          destinationTransportPort: 2048,
          protocolIdentifier: 1,
          octetDeltaCount: 84,
          packetDeltaCount: 1,
          samplingInterval: 10,
        }),
        [
          'sourceTransportPort',
          'destinationTransportPort',
          'octetDeltaCount',
          'packetDeltaCount',
          'samplingInterval',
        ],
      ],
      [
        'both address families: the IPv6 ones are not what source.ip holds',
        rec({
          sourceIPv4Address: '10.0.0.1',
          sourceIPv6Address: '2001:db8::1',
          destinationIPv4Address: '10.0.0.2',
        }),
        ['sourceIPv6Address'],
      ],
      [
        'options data keeps every element',
        rec({ ingressInterface: 4, interfaceName: 'eth0', samplingPacketInterval: 1 }, true),
        ['ingressInterface', 'interfaceName', 'samplingPacketInterval'],
      ],
    ];
    for (const [name, r, kept] of cases) {
      const doc = flowToEcs(r, { receivedAt });
      expect([name, Object.keys(doc.flow.fields).sort()]).toEqual([name, [...kept].sort()]);
      const stored = JSON.parse(JSON.stringify(doc)) as typeof doc;
      expect([name, fullFlowFields(stored)]).toEqual([name, r.fields]);
    }
  });

  it('multiplies ECS counters by the sampling rate and keeps the raw counters as sent', () => {
    const buf = v5(
      3,
      1_700_000_000,
      10_000,
      [
        {
          src: '10.0.0.1',
          dst: '10.0.0.2',
          sport: 1,
          dport: 2,
          proto: 17,
          packets: 2,
          bytes: 100,
          first: 0,
          last: 0,
        },
      ],
      (1 << 14) | 64,
    );
    const [rec] = decodeDatagram(buf, ctx, new MemoryTemplateCache()).records;
    const doc = flowToEcs(rec!, { receivedAt });
    expect(doc.network).toMatchObject({ bytes: 6400, packets: 128 });
    expect(doc.flow).toMatchObject({ sampling_rate: 64, fields: { octetDeltaCount: 100 } });
  });

  it('adds reverse counters of an IPFIX biflow to destination and network totals, and ICMP type/code to the id', () => {
    const tpl = set(
      2,
      u16(256),
      u16(6),
      spec(8, 4),
      spec(12, 4),
      spec(4, 1),
      spec(32, 2),
      spec(1, 4),
      spec(1, 4, 29305),
    );
    const data = set(256, cat(ip('10.0.0.1'), ip('10.0.0.2'), u8(1), u16(8 << 8), u32(84), u32(84)));
    const [rec] = decodeDatagram(
      ipfix(0, 1_700_000_000, 1, tpl, data),
      ctx,
      new MemoryTemplateCache(),
    ).records;
    const doc = flowToEcs(rec!, { receivedAt });
    expect(doc.destination).toEqual({ ip: '10.0.0.2', bytes: 84 });
    expect(doc.network).toMatchObject({
      transport: 'icmp',
      bytes: 168,
      community_id: communityId('10.0.0.1', '10.0.0.2', 1, 8, 0),
    });
    expect(doc['@timestamp']).toBe(new Date(1_700_000_000_000).toISOString());
  });
});

describe('options data in the ECS mapping', () => {
  it('names observer interfaces from interface-name options data and uses the sampler a flow names', () => {
    const optTpl = set(3, u16(600), u16(2), u16(1), spec(10, 4), spec(82, 65535));
    const optData = set(600, cat(u32(7), u8(4), Buffer.from('ge-0')));
    const sampTpl = set(3, u16(601), u16(3), u16(1), spec(302, 4), spec(309, 4), spec(310, 4));
    const sampData = set(601, cat(u32(9), u32(1), u32(1000)));
    const flowTpl = set(2, u16(602), u16(4), spec(10, 4), spec(302, 4), spec(1, 4), spec(2, 4));
    const flowData = set(602, cat(u32(7), u32(9), u32(64), u32(1)));
    const cache = new MemoryTemplateCache();
    const r = decodeDatagram(
      ipfix(0, 1_700_000_000, 5, optTpl, optData, sampTpl, sampData, flowTpl, flowData),
      ctx,
      cache,
    );
    const flow = r.records.find((x) => !x.options)!;
    const doc = flowToEcs(flow, {
      receivedAt,
      facts: cache.facts({ exporter: ctx.exporter, version: 10, domain: 5 }),
    });
    expect(doc.observer).toMatchObject({ ingress: { interface: { id: '7', name: 'ge-0' } } });
    expect(doc.network).toMatchObject({ bytes: 64_000, packets: 1000 });
    expect(doc.flow.sampling_rate).toBe(1000);
  });
});

describe('SequenceTracker', () => {
  it.each([
    [
      'v5 counts flows',
      5,
      [
        [0, 30],
        [30, 30],
        [75, 30],
      ],
      [undefined, undefined, 15],
    ],
    [
      'v9 counts packets',
      9,
      [
        [7, 3],
        [8, 5],
        [11, 1],
      ],
      [undefined, undefined, 2],
    ],
    [
      'IPFIX counts data records',
      10,
      [
        [100, 4],
        [104, 4],
        [107, 1],
      ],
      [undefined, undefined, -1],
    ],
  ] as const)('reports gaps where %s', (_name, version, msgs, gaps) => {
    const t = new SequenceTracker();
    const got = msgs.map(
      ([sequence, records]) =>
        t.observe('e', { version, domain: 0, sequence, exportTime: 0, records, held: 0 })?.missing,
    );
    expect(got).toEqual(gaps);
  });
});
