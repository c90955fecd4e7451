import { decodeDatagram, flowRecordId } from './decode';
import { cat, ip, ipfix, set, spec, u16, u32, u8, v5, v9, varlen, type V5Flow } from './spec-helpers';
import { textFields } from './records';
import { releaseHeld } from './sets';
import { MemoryTemplateCache } from './templates';
import type { DecodeContext } from './types';

const ctx: DecodeContext = { exporter: '192.0.2.1', receivedAt: new Date('2026-11-27T12:00:00Z') };
const T0 = 1_700_000_000; // unix seconds used as export time in hand-made packets

const flowA: V5Flow = {
  src: '10.0.0.1',
  dst: '10.0.0.2',
  sport: 40000,
  dport: 443,
  proto: 6,
  packets: 10,
  bytes: 1500,
  first: 1000,
  last: 3000,
};
const flowB: V5Flow = { ...flowA, src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000, bytes: 9000 };

/** v9 template 300: src/dst IPv4, ports, protocol, bytes, packets, first/last switched. */
const v9Template300 = set(
  0,
  u16(300),
  u16(8),
  ...[
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [1, 4],
    [2, 4],
    [22, 4],
  ].map(([t, l]) => cat(u16(t!), u16(l!))),
);
function v9Data300(...rows: Array<[string, string, number, number, number, number, number, number]>): Buffer {
  return set(
    300,
    ...rows.map(([s, d, sp, dp, pr, by, pk, first]) =>
      cat(ip(s), ip(d), u16(sp), u16(dp), u8(pr), u32(by), u32(pk), u32(first)),
    ),
  );
}

describe('NetFlow v5', () => {
  it('decodes every record with IANA names and wall-clock start/end from the header uptime', () => {
    const r = decodeDatagram(v5(7, T0, 10_000, [flowA, flowB]), ctx, new MemoryTemplateCache());
    expect(r.errors).toEqual([]);
    expect(r.records).toHaveLength(2);
    const [a] = r.records;
    expect(a!.fields).toMatchObject({
      sourceIPv4Address: '10.0.0.1',
      destinationIPv4Address: '10.0.0.2',
      sourceTransportPort: 40000,
      destinationTransportPort: 443,
      protocolIdentifier: 6,
      octetDeltaCount: 1500,
      packetDeltaCount: 10,
      tcpControlBits: 0x12,
      ingressInterface: 3,
      egressInterface: 4,
      sourceIPv4PrefixLength: 24,
      engineType: 1,
      engineId: 2,
    });
    expect(a!.start).toBe(T0 * 1000 - 10_000 + 1000);
    expect(a!.end).toBe(T0 * 1000 - 10_000 + 3000);
    expect(a!.domain).toBe(0x0102);
    expect(r.messages).toEqual([
      { version: 5, domain: 0x0102, sequence: 7, exportTime: T0 * 1000, records: 2, held: 0 },
    ]);
  });

  it.each([
    ['a start just before the uptime origin (0xffffffff)', 3381, 0xffffffff, -3382],
    ['a start after the counter wrapped', 500, 0xfffffc18, -1500],
    ['an ordinary start', 10_000, 4000, -6000],
  ])('reads %s modulo 2^32 ms, as nfdump does', (_name, uptime, first, offset) => {
    const r = decodeDatagram(
      v5(1, T0, uptime, [{ ...flowA, first, last: uptime }]),
      ctx,
      new MemoryTemplateCache(),
    );
    expect(r.records[0]!.start).toBe(T0 * 1000 + offset);
    expect(r.records[0]!.end).toBe(T0 * 1000);
  });

  it('walks several messages glued in one buffer, numbering them', () => {
    const buf = cat(v5(1, T0, 5000, [flowA]), v5(2, T0 + 1, 6000, [flowB, flowA]));
    const r = decodeDatagram(buf, ctx, new MemoryTemplateCache());
    expect(r.records.map((x) => [x.messageIndex, x.recordIndex, x.sequence])).toEqual([
      [0, 0, 1],
      [1, 0, 2],
      [1, 1, 2],
    ]);
  });

  it('keeps the whole records of a truncated message and reports the truncation', () => {
    const full = v5(1, T0, 5000, [flowA, flowB]);
    const r = decodeDatagram(full.subarray(0, full.length - 10), ctx, new MemoryTemplateCache());
    expect(r.records).toHaveLength(1);
    expect(r.errors.map((e) => e.code)).toEqual(['truncated']);
  });
});

describe('NetFlow v9', () => {
  it('decodes a template flowset and a data flowset carried in the same packet', () => {
    const pkt = v9(
      42,
      T0,
      60_000,
      7,
      v9Template300,
      v9Data300(
        ['192.168.1.10', '8.8.8.8', 5353, 53, 17, 80, 1, 59_000],
        ['8.8.8.8', '192.168.1.10', 53, 5353, 17, 120, 1, 59_500],
      ),
    );
    const r = decodeDatagram(pkt, ctx, new MemoryTemplateCache());
    expect(r.errors).toEqual([]);
    expect(r.records.map((x) => x.fields)).toEqual([
      {
        sourceIPv4Address: '192.168.1.10',
        destinationIPv4Address: '8.8.8.8',
        sourceTransportPort: 5353,
        destinationTransportPort: 53,
        protocolIdentifier: 17,
        octetDeltaCount: 80,
        packetDeltaCount: 1,
        flowStartSysUpTime: 59_000,
      },
      {
        sourceIPv4Address: '8.8.8.8',
        destinationIPv4Address: '192.168.1.10',
        sourceTransportPort: 53,
        destinationTransportPort: 5353,
        protocolIdentifier: 17,
        octetDeltaCount: 120,
        packetDeltaCount: 1,
        flowStartSysUpTime: 59_500,
      },
    ]);
    expect(r.records[0]!.start).toBe(T0 * 1000 - 60_000 + 59_000);
    expect(r.records[0]!).toMatchObject({
      templateId: 300,
      domain: 7,
      sequence: 42,
      options: false,
      setIndex: 1,
    });
  });

  it('decodes options templates and options data with v9 scope names and remembers the sampling rate', () => {
    const optTpl = set(1, u16(301), u16(4), u16(8), u16(2), u16(4), u16(34), u16(4), u16(35), u16(1));
    const optData = set(301, u32(5), u32(100), u8(2));
    const cache = new MemoryTemplateCache();
    const r = decodeDatagram(v9(1, T0, 1000, 9, optTpl, optData), ctx, cache);
    expect(r.records).toHaveLength(1);
    expect(r.records[0]!).toMatchObject({
      options: true,
      templateId: 301,
      fields: { scopeInterface: 5, samplingInterval: 100, samplingAlgorithm: 2 },
    });
    expect(cache.facts({ exporter: ctx.exporter, version: 9, domain: 9 }).samplingRate).toBe(100);
  });

  it('holds data that arrives before its template and decodes it, with its own header, when the template comes', () => {
    const cache = new MemoryTemplateCache();
    const early = decodeDatagram(
      v9(10, T0, 60_000, 7, v9Data300(['10.1.1.1', '10.2.2.2', 1, 2, 6, 40, 1, 59_000])),
      ctx,
      cache,
    );
    expect(early.records).toEqual([]);
    expect(early.messages[0]!.held).toBe(1);
    expect(cache.stats.pendingSets).toBe(1);
    expect(cache.stats.templateMisses.get(ctx.exporter)).toBe(1);

    const later = decodeDatagram(
      v9(11, T0 + 5, 65_000, 7, v9Template300),
      { ...ctx, receivedAt: new Date(ctx.receivedAt.getTime() + 5000) },
      cache,
    );
    expect(later.records).toHaveLength(1);
    expect(later.records[0]!).toMatchObject({ sequence: 10, exportTime: T0 * 1000, setIndex: 0 });
    expect(later.records[0]!.fields['sourceIPv4Address']).toBe('10.1.1.1');
    expect(cache.stats.pendingSets).toBe(0);
    expect(cache.stats.pendingReleased).toBe(1);
  });

  it('decodes v9 messages glued one after another, although v9 headers carry no length', () => {
    const a = v9(1, T0, 1000, 7, v9Template300, v9Data300(['10.1.1.1', '10.2.2.2', 1, 2, 6, 40, 1, 0]));
    const b = v9(2, T0, 2000, 7, v9Data300(['10.3.3.3', '10.4.4.4', 1, 2, 6, 40, 1, 0]));
    const r = decodeDatagram(cat(a, b), ctx, new MemoryTemplateCache());
    expect(r.errors).toEqual([]);
    expect(r.records.map((x) => [x.messageIndex, x.sequence, x.fields['sourceIPv4Address']])).toEqual([
      [0, 1, '10.1.1.1'],
      [1, 2, '10.3.3.3'],
    ]);
  });

  it('keeps templates apart per exporter and per source id', () => {
    const cache = new MemoryTemplateCache();
    decodeDatagram(v9(1, T0, 1000, 7, v9Template300), ctx, cache);
    const data = v9Data300(['10.1.1.1', '10.2.2.2', 1, 2, 6, 40, 1, 0]);
    const cases: Array<[string, number, number]> = [
      [ctx.exporter, 7, 1],
      [ctx.exporter, 8, 0],
      ['192.0.2.99', 7, 0],
    ];
    for (const [exporter, sourceId, want] of cases) {
      const r = decodeDatagram(v9(2, T0, 1000, sourceId, data), { ...ctx, exporter }, cache);
      expect(r.records).toHaveLength(want);
    }
  });

  it('ignores zero padding after the last flowset but reports a flowset that overruns the datagram', () => {
    const good = v9(1, T0, 1000, 7, v9Template300, v9Data300(['10.1.1.1', '10.2.2.2', 1, 2, 6, 40, 1, 0]));
    const padded = decodeDatagram(cat(good, Buffer.alloc(64)), ctx, new MemoryTemplateCache());
    expect(padded.errors).toEqual([]);
    expect(padded.records).toHaveLength(1);
    const overrun = cat(good, u16(300), u16(200), u32(1));
    const r = decodeDatagram(overrun, ctx, new MemoryTemplateCache());
    expect(r.records).toHaveLength(1);
    expect(r.errors.map((e) => e.code)).toEqual(['bad-set-length']);
  });
});

describe('IPFIX', () => {
  const PEN_NETSCALER = 5951;
  const PEN_UNKNOWN = 99999;
  const template = set(
    2,
    u16(400),
    u16(6),
    spec(8, 4),
    spec(82, 65535), // interfaceName, variable length
    spec(130, 65535, PEN_NETSCALER), // netscalerHttpReqUrl, variable length
    spec(7, 4, PEN_UNKNOWN), // unknown enterprise element: decoded as unsigned by its length
    spec(152, 8), // flowStartMilliseconds
    spec(1, 4), // octetDeltaCount in reduced-size encoding
  );
  const longUrl = `/${'x'.repeat(300)}`;
  const data = set(
    400,
    cat(ip('10.9.9.9'), varlen('eth0'), varlen(longUrl), u32(77), u32(0x18b), u32(0x8a1d6e00), u32(1234)),
    cat(ip('10.9.9.8'), varlen(''), varlen('/'), u32(78), u32(0x18b), u32(0x8a1d6e00), u32(1)),
  );

  it('decodes variable-length fields (both length encodings) and enterprise elements', () => {
    const r = decodeDatagram(ipfix(0, T0, 3, template, data), ctx, new MemoryTemplateCache());
    expect(r.errors).toEqual([]);
    expect(r.records.map((x) => x.fields)).toEqual([
      {
        sourceIPv4Address: '10.9.9.9',
        interfaceName: 'eth0',
        '5951/130': longUrl,
        '99999/7': 77,
        flowStartMilliseconds: new Date(0x18b * 2 ** 32 + 0x8a1d6e00).toISOString(),
        octetDeltaCount: 1234,
      },
      {
        sourceIPv4Address: '10.9.9.8',
        interfaceName: '',
        '5951/130': '/',
        '99999/7': 78,
        flowStartMilliseconds: new Date(0x18b * 2 ** 32 + 0x8a1d6e00).toISOString(),
        octetDeltaCount: 1,
      },
    ]);
    expect(r.records[0]!.start).toBe(0x18b * 2 ** 32 + 0x8a1d6e00);
  });

  it.each([
    ['a single template', set(2, u16(400), u16(0)), 0],
    ['all templates of the domain', set(2, u16(2), u16(0)), 0],
    ['a different template id', set(2, u16(401), u16(0)), 2],
  ])('withdrawing %s stops or keeps decoding accordingly', (_name, withdrawal, want) => {
    const cache = new MemoryTemplateCache();
    decodeDatagram(ipfix(0, T0, 3, template), ctx, cache);
    decodeDatagram(ipfix(0, T0, 3, withdrawal), ctx, cache);
    const r = decodeDatagram(ipfix(0, T0, 3, data), ctx, cache);
    expect(r.records).toHaveLength(want);
  });

  it('decodes several sets of one message in order and accepts a template refresh without recompiling', () => {
    const cache = new MemoryTemplateCache();
    const r = decodeDatagram(ipfix(0, T0, 3, template, data, template, data), ctx, cache);
    expect(r.records.map((x) => x.setIndex)).toEqual([1, 1, 3, 3]);
    expect(cache.stats.templates).toBe(1);
  });

  it('bounds the data held for missing templates and counts what it refuses or expires', () => {
    const cache = new MemoryTemplateCache({ maxPendingSets: 1, pendingTtlMs: 1000 });
    const first = decodeDatagram(ipfix(0, T0, 3, data), ctx, cache);
    expect(first.messages[0]!.held).toBe(1);
    const second = decodeDatagram(ipfix(2, T0, 3, data), ctx, cache);
    expect(second.errors.map((e) => e.code)).toEqual(['template-missing']);
    expect(cache.stats.pendingOverflow).toBe(1);
    const late = { ...ctx, receivedAt: new Date(ctx.receivedAt.getTime() + 5000) };
    const r = decodeDatagram(ipfix(4, T0, 3, template), late, cache);
    expect(r.records).toEqual([]);
    expect(cache.stats.pendingExpired).toBe(1);
    expect(cache.stats.pendingSets).toBe(0);
  });

  it('decodes held data when the template is learnt outside a datagram (another replica), with the same ids', () => {
    const reference = decodeDatagram(ipfix(0, T0, 3, data), ctx, new MemoryTemplateCache());
    expect(reference.records).toEqual([]);
    const direct = new MemoryTemplateCache();
    decodeDatagram(ipfix(0, T0, 3, template), ctx, direct);
    const want = decodeDatagram(ipfix(2, T0, 3, data), ctx, direct).records;

    const replica = new MemoryTemplateCache();
    expect(decodeDatagram(ipfix(2, T0, 3, data), ctx, replica).messages[0]!.held).toBe(1);
    const scope = { exporter: ctx.exporter, version: 10 as const, domain: 3 };
    expect(releaseHeld(replica, scope, 400, ctx.receivedAt.getTime()).records).toEqual([]);
    replica.put(scope, direct.get(scope, 400)!.def);
    const got = releaseHeld(replica, scope, 400, ctx.receivedAt.getTime());
    expect(got.errors).toEqual([]);
    expect(got.records).toEqual(want);
    expect(got.records.map(flowRecordId)).toEqual(want.map(flowRecordId));
    expect(replica.stats.pendingSets).toBe(0);
  });

  it('bounds the data held per exporter, so one exporter cannot take the whole store, and hands expired sets over', () => {
    const expired: number[] = [];
    const cache = new MemoryTemplateCache({
      maxPendingSets: 10,
      maxPendingSetsPerExporter: 1,
      pendingTtlMs: 1000,
      onExpired: (s) => expired.push(s.sequence),
    });
    expect(decodeDatagram(ipfix(0, T0, 3, data), ctx, cache).messages[0]!.held).toBe(1);
    expect(decodeDatagram(ipfix(2, T0, 3, data), ctx, cache).errors.map((e) => e.code)).toEqual([
      'template-missing',
    ]);
    const other = { ...ctx, exporter: '192.0.2.99' };
    expect(decodeDatagram(ipfix(0, T0, 3, data), other, cache).messages[0]!.held).toBe(1);
    expect(cache.stats.pendingSets).toBe(2);
    cache.expire(ctx.receivedAt.getTime() + 5000);
    expect(expired).toEqual([0, 0]);
    expect(cache.stats.pendingSets).toBe(0);
    // The per-exporter count was released with the sets: the exporter may hold again.
    expect(decodeDatagram(ipfix(4, T0, 3, data), ctx, cache).messages[0]!.held).toBe(1);
  });

  it('derives start/end from uptime elements with the boot time announced in options data', () => {
    const optTpl = set(3, u16(500), u16(2), u16(1), spec(144, 4), spec(160, 8));
    const optData = set(500, u32(1), u32(0x18b), u32(0x8a1d6e00));
    const flowTpl = set(2, u16(501), u16(2), spec(22, 4), spec(21, 4));
    const flowData = set(501, u32(1000), u32(2500));
    const cache = new MemoryTemplateCache();
    const r = decodeDatagram(ipfix(0, T0, 3, optTpl, optData, flowTpl, flowData), ctx, cache);
    const boot = 0x18b * 2 ** 32 + 0x8a1d6e00;
    expect(r.records[1]!).toMatchObject({ start: boot + 1000, end: boot + 2500 });
    // The boot time is remembered: a later message with only flow data still gets wall-clock times.
    const r2 = decodeDatagram(ipfix(2, T0, 3, flowData), ctx, cache);
    expect(r2.records[0]!).toMatchObject({ start: boot + 1000, end: boot + 2500 });
  });
});

describe('malformed input', () => {
  const good = [
    v5(1, T0, 5000, [flowA, flowB]),
    v9(1, T0, 1000, 7, v9Template300, v9Data300(['10.1.1.1', '10.2.2.2', 1, 2, 6, 40, 1, 0])),
    ipfix(
      0,
      T0,
      3,
      set(2, u16(400), u16(2), spec(8, 4), spec(82, 65535)),
      set(400, ip('1.2.3.4'), varlen('eth0')),
    ),
  ];

  it.each([
    ['an empty buffer', Buffer.alloc(0), 'short-datagram'],
    ['one byte', Buffer.from([0]), 'short-datagram'],
    ['an unknown version', cat(u16(7), Buffer.alloc(30)), 'unsupported-version'],
    ['a v5 header with zero records', cat(u16(5), u16(0), Buffer.alloc(20)), 'bad-message-length'],
    ['an IPFIX length shorter than its header', cat(u16(10), u16(8), Buffer.alloc(12)), 'bad-message-length'],
    ['an IPFIX set of length 0', ipfix(0, T0, 1, cat(u16(256), u16(0))), 'bad-set-length'],
    [
      'a v9 template overrunning its flowset',
      v9(1, T0, 1, 1, set(0, u16(300), u16(50), u32(1))),
      'bad-template',
    ],
    [
      'an IPFIX variable-length field longer than the set',
      ipfix(0, T0, 3, set(2, u16(400), u16(1), spec(82, 65535)), set(400, u8(200), Buffer.from('abc'))),
      'record-overrun',
    ],
  ])('%s yields an error code instead of an exception', (_name, buf, code) => {
    const r = decodeDatagram(buf, ctx, new MemoryTemplateCache());
    expect(r.errors.map((e) => e.code)).toContain(code);
  });

  it('never throws on any truncation or byte corruption of valid packets', () => {
    let decoded = 0;
    let reported = 0;
    for (const pkt of good) {
      for (let len = 0; len < pkt.length; len++) {
        const r = decodeDatagram(pkt.subarray(0, len), ctx, new MemoryTemplateCache());
        expect(r.errors.filter((e) => e.code === 'internal')).toEqual([]);
        decoded += r.records.length;
        reported += r.errors.length;
      }
      // Deterministic corruption: every byte in turn set to 0xff.
      for (let i = 0; i < pkt.length; i++) {
        const bad = Buffer.from(pkt);
        bad[i] = 0xff;
        // 'internal' would mean the safety net caught an exception: a missing bounds check.
        const r = decodeDatagram(bad, ctx, new MemoryTemplateCache());
        expect(r.errors.filter((e) => e.code === 'internal')).toEqual([]);
      }
    }
    expect(reported).toBeGreaterThan(0);
    expect(decoded).toBeGreaterThan(0);
  });
});

describe('record ids', () => {
  it('are the same when a datagram is decoded again and differ between records', () => {
    const buf = v5(1, T0, 5000, [flowA, flowB]);
    const a = decodeDatagram(buf, ctx, new MemoryTemplateCache()).records.map(flowRecordId);
    const b = decodeDatagram(buf, ctx, new MemoryTemplateCache()).records.map(flowRecordId);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(2);
    const other = decodeDatagram(
      buf,
      { ...ctx, exporter: '192.0.2.2' },
      new MemoryTemplateCache(),
    ).records.map(flowRecordId);
    expect(other[0]).not.toBe(a[0]);
  });
});

describe('numeric addresses (DecodeContext.numericAddresses)', () => {
  const num: DecodeContext = { ...ctx, numericAddresses: true };
  /** The datagram's one record decoded with numeric addresses holds `numbers`; `textFields` gives `texts`. */
  const expectNumbersThenText = (
    buf: Buffer,
    numbers: Record<string, number>,
    texts: Record<string, string>,
  ): void => {
    const n = decodeDatagram(buf, num, new MemoryTemplateCache());
    expect(n.records[0]!.fields).toEqual(numbers);
    expect(textFields(n.records[0]!, n.layouts[0]!)).toEqual(texts);
  };

  it('gives NetFlow v5 addresses as uint32 numbers, and textFields gives back the dotted quads', () => {
    const buf = v5(1, T0, 5000, [{ ...flowA, src: '203.0.113.250' }]);
    const text = decodeDatagram(buf, ctx, new MemoryTemplateCache());
    const n = decodeDatagram(buf, num, new MemoryTemplateCache());
    expect(n.records[0]!.fields).toMatchObject({
      sourceIPv4Address: 0xcb0071fa,
      destinationIPv4Address: 0x0a000002,
    });
    expect(textFields(n.records[0]!, n.layouts[0]!)).toEqual(text.records[0]!.fields);
  });

  it('gives IPFIX IPv4 elements as numbers, per call: text decoding of the same template gives text', () => {
    const tpl = set(2, u16(401), u16(2), spec(8, 4), spec(12, 4));
    const data = set(401, cat(ip('10.1.2.3'), ip('255.255.255.255')));
    const buf = ipfix(1, T0, 0, tpl, data);
    expectNumbersThenText(
      buf,
      { sourceIPv4Address: 0x0a010203, destinationIPv4Address: 0xffffffff },
      { sourceIPv4Address: '10.1.2.3', destinationIPv4Address: '255.255.255.255' },
    );
    const t = decodeDatagram(buf, ctx, new MemoryTemplateCache());
    expect(t.records[0]!.fields['sourceIPv4Address']).toBe('10.1.2.3');
    // MACs too: 48 bits as one number, text again through textFields.
    const macTpl = set(2, u16(402), u16(2), spec(56, 6), spec(80, 6));
    const macData = set(402, cat(Buffer.from('0050569156ff', 'hex'), Buffer.from('fedcba987654', 'hex')));
    expectNumbersThenText(
      ipfix(4, T0, 0, macTpl, macData),
      { sourceMacAddress: 0x0050569156ff, destinationMacAddress: 0xfedcba987654 },
      { sourceMacAddress: '00:50:56:91:56:ff', destinationMacAddress: 'fe:dc:ba:98:76:54' },
    );
    // Data held for its template comes out in the mode of the datagram that brings the template.
    const cache = new MemoryTemplateCache();
    decodeDatagram(ipfix(2, T0, 0, data), ctx, cache);
    const late = decodeDatagram(ipfix(3, T0, 0, tpl), num, cache);
    expect(late.records[0]!.fields['sourceIPv4Address']).toBe(0x0a010203);
  });
});
