import fc from 'fast-check';
import { decodeDatagram, MemoryTemplateCache } from '@citysoc/flow';
import { compileRules, loadRulesFromText, SigmaError } from '@citysoc/sigma';
// parseCondition is internal to the lib (not exported): reached by path, like its own specs do.
import { parseCondition } from '../../libs/sigma/src/condition';
import { parseSyslog, SyslogFramer } from '@citysoc/syslog';

/**
 * Properties shared by the bounded CI run (scripts/fuzz.spec.ts) and the open-ended fuzz target
 * (test/fuzz/fuzz.ts): on any input the parsers return their documented results — never an exception,
 * never more output than input can justify.
 */
export interface NamedProperty {
  name: string;
  property: fc.IProperty<any> | fc.IAsyncProperty<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const MAX = 512;
const ctx = {
  senderIp: '192.0.2.1',
  receivedAt: new Date('2026-01-01T00:00:00Z'),
  eventId: 'fuzz',
  inputName: 'fuzz',
  transport: 'tcp' as const,
};

/** Bytes that look like syslog often enough to reach deep parser states, and random otherwise. */
const syslogish = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  fc
    .tuple(
      fc.constantFrom('<34>1 ', '<13>', '<191>1 ', '<0>', '<999>', '<34>Oct 11 22:14:15 ', '12 <34>1 ', ''),
      fc.string({ maxLength: 300, unit: 'binary' }),
    )
    .map(([h, s]) => new Uint8Array(Buffer.from(h + s, 'utf8'))),
  fc
    .array(
      fc.constantFrom(
        '-',
        ' ',
        '[',
        ']',
        '=',
        '"',
        '\\',
        'id@1',
        'a',
        '2026-01-01T00:00:00Z',
        '\n',
        '0',
        '\u00ff',
      ),
      { maxLength: 80 },
    )
    .map((p) => new Uint8Array(Buffer.from(`<34>1 ${p.join('')}`, 'utf8'))),
);

/** Splits `bytes` into chunks at the given cut points. */
function chunks(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  return out;
}

const flowish = fc.oneof(
  fc.uint8Array({ maxLength: 1500 }),
  // A plausible header (v5, v9 or IPFIX) followed by random sets, to get past the version check.
  fc.tuple(fc.constantFrom(5, 9, 10), fc.uint8Array({ minLength: 0, maxLength: 1400 })).map(([v, rest]) => {
    const b = Buffer.alloc(2 + rest.length);
    b.writeUInt16BE(v, 0);
    Buffer.from(rest).copy(b, 2);
    if (v === 10 && b.length >= 4) b.writeUInt16BE(b.length, 2);
    return b;
  }),
  // IPFIX with a template set then a data set of random content.
  fc
    .tuple(
      fc.integer({ min: 256, max: 300 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 500 }), fc.constantFrom(1, 2, 4, 8, 16, 0xffff)), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.uint8Array({ maxLength: 600 }),
    )
    .map(([tid, fields, data]) => {
      const tmpl = Buffer.alloc(4 + 4 + fields.length * 4);
      tmpl.writeUInt16BE(2, 0);
      tmpl.writeUInt16BE(tmpl.length, 2);
      tmpl.writeUInt16BE(tid, 4);
      tmpl.writeUInt16BE(fields.length, 6);
      fields.forEach(([id, len], i) => {
        tmpl.writeUInt16BE(id, 8 + i * 4);
        tmpl.writeUInt16BE(len, 10 + i * 4);
      });
      const ds = Buffer.alloc(4 + data.length);
      ds.writeUInt16BE(tid, 0);
      ds.writeUInt16BE(ds.length, 2);
      Buffer.from(data).copy(ds, 4);
      const hdr = Buffer.alloc(16);
      hdr.writeUInt16BE(10, 0);
      hdr.writeUInt16BE(16 + tmpl.length + ds.length, 2);
      return Buffer.concat([hdr, tmpl, ds]);
    }),
);

const conditionish = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc
    .array(
      fc.constantFrom(
        'sel',
        'filter',
        'and',
        'or',
        'not',
        '(',
        ')',
        '1 of',
        'all of',
        'them',
        'sel*',
        '|',
        'count()',
        'near',
        ' ',
        '  ',
      ),
      { maxLength: 40 },
    )
    .map((t) => t.join(' ')),
);

const sigmaYamlish = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc
    .record({
      title: fc.string({ maxLength: 20 }),
      cond: conditionish,
      field: fc.constantFrom(
        'Image',
        'CommandLine|contains',
        'x|re',
        'y|base64offset|contains',
        'z|cidr',
        'q|windash',
      ),
      value: fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.constant(null)),
      level: fc.constantFrom('low', 'high', 'bogus'),
    })
    .map(
      (r) =>
        `title: ${JSON.stringify(r.title)}\nid: 5d8c1f4e-0000-4000-8000-000000000000\nlogsource: {product: linux}\ndetection:\n  sel:\n    ${r.field}: ${JSON.stringify(r.value)}\n  condition: ${JSON.stringify(r.cond)}\nlevel: ${r.level}\n`,
    ),
);

export const properties: NamedProperty[] = [
  {
    name: 'syslog framer: any chunking of any bytes gives bounded frames and no exception',
    property: fc.property(
      fc.array(syslogish, { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.integer({ min: 1, max: MAX }),
      (parts, cuts, max) => {
        const bytes = Buffer.concat(parts.map((p) => Buffer.from(p)));
        const f = new SyslogFramer({ maxFrameBytes: max });
        let frameBytes = 0;
        let outputs = 0;
        for (const c of [...chunks(bytes, cuts).map((c) => f.push(c)), f.end()]) {
          for (const fr of c.frames) {
            if (fr.length > max) throw new Error(`frame of ${fr.length} > max ${max}`);
            frameBytes += fr.length;
          }
          outputs += c.frames.length + c.errors.length;
        }
        if (frameBytes > bytes.length)
          throw new Error(`${frameBytes} frame bytes from ${bytes.length} input`);
        if (outputs > bytes.length + 1) throw new Error(`${outputs} outputs from ${bytes.length} bytes`);
      },
    ),
  },
  {
    name: 'syslog framer: octet-counted frames come out intact however the stream is split',
    property: fc.property(
      // RFC 6587: the counted SYSLOG-MSG starts with its <PRI>; after that, any bytes (LF, NUL, digits…).
      fc.array(
        fc
          .tuple(fc.integer({ min: 0, max: 191 }), fc.uint8Array({ maxLength: 200 }))
          .map(([pri, rest]) => Buffer.concat([Buffer.from(`<${pri}>`), Buffer.from(rest)])),
        { minLength: 1, maxLength: 8 },
      ),
      fc.array(fc.nat(), { maxLength: 10 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(payloads.flatMap((p) => [Buffer.from(`${p.length} `), Buffer.from(p)]));
        const f = new SyslogFramer({ maxFrameBytes: 1024 });
        const frames: Buffer[] = [];
        const errors: unknown[] = [];
        for (const c of [...chunks(stream, cuts).map((c) => f.push(c)), f.end()]) {
          frames.push(...c.frames);
          errors.push(...c.errors);
        }
        const got = frames.map((b) => b.toString('hex'));
        const want = payloads.map((p) => Buffer.from(p).toString('hex'));
        if (errors.length > 0 || JSON.stringify(got) !== JSON.stringify(want))
          throw new Error(`frames ${JSON.stringify(got)} errors ${JSON.stringify(errors)}`);
      },
    ),
  },
  {
    name: 'syslog parser: any bytes give an event or a coded refusal',
    property: fc.property(syslogish, fc.boolean(), (bytes, bsdZone) => {
      const r = parseSyslog(bytes, bsdZone ? { ...ctx, timezone: 'Asia/Ho_Chi_Minh' } : ctx);
      if (r.ok) {
        const size = JSON.stringify(r.event).length;
        // The event carries the message and a bounded envelope: never an amplification of the input.
        if (size > 8 * bytes.length + 4096)
          throw new Error(`event of ${size} chars from ${bytes.length} bytes`);
      } else if (typeof r.code !== 'string' || r.code === '') throw new Error('refusal without a code');
    }),
  },
  {
    name: 'flow decoder: any datagram gives records and coded errors, bounded, never an exception',
    property: fc.property(fc.array(flowish, { minLength: 1, maxLength: 3 }), (datagrams) => {
      const cache = new MemoryTemplateCache();
      for (const d of datagrams) {
        const r = decodeDatagram(
          Buffer.from(d),
          { exporter: '192.0.2.9', receivedAt: ctx.receivedAt },
          cache,
        );
        if (r.records.length > d.length)
          throw new Error(`${r.records.length} records from ${d.length} bytes`);
        if (r.errors.length > d.length + 1)
          throw new Error(`${r.errors.length} errors from ${d.length} bytes`);
        for (const e of r.errors) if (typeof e.code !== 'string') throw new Error('error without a code');
      }
    }),
  },
  {
    name: 'sigma condition parser: any text parses or fails with a SigmaError',
    property: fc.property(conditionish, (src) => {
      try {
        parseCondition(src);
      } catch (err) {
        if (!(err instanceof SigmaError)) throw err;
      }
    }),
  },
  {
    name: 'sigma loader and compiler: any YAML text gives rules and reported errors, never an exception',
    property: fc.property(sigmaYamlish, (text) => {
      const r = loadRulesFromText(text, 'fuzz.yml');
      const compiled = compileRules(r.rules);
      // A compiled rule set must evaluate any event without throwing.
      compiled.match({ Image: 'x', CommandLine: 'y', x: '1', y: 'QQ==', z: '10.0.0.1', q: '-a' });
      for (const e of r.errors)
        if (typeof e.code !== 'string' || e.file !== 'fuzz.yml') throw new Error('bad error');
    }),
  },
];
