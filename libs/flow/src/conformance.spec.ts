import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { decodeDatagram } from './decode';
import { flowToEcs, fullFlowFields } from './ecs';
import { resolveElement } from './elements/registry';
import { MemoryTemplateCache, type TemplateCache } from './templates';
import type { FlowError, FlowRecord } from './types';
import knownFailures from './conformance-known-failures.json';

/**
 * Conformance against the public flow corpus (`<corpus>/flow`, see its README.md and SOURCES.md). The
 * corpus lives outside the repository, so the suite skips, loudly, where it is absent.
 *
 * Every case is expected to pass unless it is listed in conformance-known-failures.json with a reason;
 * a listed case that starts passing fails too, so the list cannot go stale.
 */
const repoRoot = path.resolve(__dirname, '../../..');
const corpusRoot = process.env.CITYSOC_CORPUS_DIR ?? path.resolve(repoRoot, '../shared/corpus');
const flowDir = path.join(corpusRoot, 'flow');
const present = fs.existsSync(path.join(flowDir, 'manifest.json'));
if (!present) {
  console.warn(
    `flow conformance suite skipped: no corpus at ${flowDir} (set CITYSOC_CORPUS_DIR to the folder holding flow/)`,
  );
}
const describeCorpus = present ? describe : describe.skip;
const KNOWN: Record<string, string> = knownFailures;
const EXPORTER = '127.0.0.1';

function readJson<T>(rel: string): T {
  return JSON.parse(fs.readFileSync(path.join(flowDir, rel), 'utf8')) as T;
}

interface Fed {
  records: FlowRecord[];
  errors: FlowError[];
  cache: TemplateCache;
}

/** Decodes files in order as one exporter would send them: templates carry over. */
function feed(files: string[]): Fed {
  const cache = new MemoryTemplateCache();
  const records: FlowRecord[] = [];
  const errors: FlowError[] = [];
  files.forEach((file, i) => {
    // One second per datagram keeps held sets from expiring while staying deterministic.
    const r = decodeDatagram(
      fs.readFileSync(file),
      { exporter: EXPORTER, receivedAt: new Date(i * 1000) },
      cache,
    );
    records.push(...r.records);
    errors.push(...r.errors);
  });
  return { records, errors, cache };
}

/** Runs a case check; `problems` empty = pass. Known failures must fail, the rest must pass. */
function expectOutcome(key: string, problems: string[]): void {
  const reason = KNOWN[key];
  if (reason === undefined) {
    expect(problems).toEqual([]);
  } else {
    if (problems.length === 0)
      throw new Error(`${key} now passes: remove it from conformance-known-failures.json`);
    expect(problems.length).toBeGreaterThan(0);
  }
}

// ---------------------------------------------------------------- logstash-codec-netflow

interface LcnCase {
  id: string;
  file: string;
  version: number;
  feed_order: string[];
  record_count: number | null;
  must_not_crash: boolean;
  expected: Array<{
    record_index: number;
    complete: boolean;
    export_time: string | null;
    fields: Record<string, unknown>;
  }>;
  notes: string[];
  nfdump_reference?: { record_count: number; records: NfdumpRecord[] };
}
interface FieldIds {
  fields: Record<string, { netflow_v9_ids?: number[]; ipfix?: Array<{ id: number; pen: number }> }>;
}

/** README: these two files hold several glued messages and upstream decoded only the first one. */
const GLUED = new Set(['netflow5.dat', 'ipfix.dat']);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;

function candidateKeys(name: string, ids: FieldIds): string[] {
  const e = ids.fields[name];
  const keys: string[] = [];
  for (const id of e?.netflow_v9_ids ?? []) keys.push(resolveElement(9, 0, id, false).name);
  for (const x of e?.ipfix ?? []) keys.push(resolveElement(10, x.pen, x.id, false).name);
  if (keys.length === 0) keys.push(name);
  return keys;
}

/** The value we decoded for a logstash field name, or undefined. */
function ours(rec: FlowRecord, all: FlowRecord[], name: string, ids: FieldIds): unknown {
  switch (name) {
    case 'version':
      return rec.version;
    case 'flow_seq_num':
      return rec.sequence;
    case 'flowset_id':
      return rec.templateId;
    case 'flow_records':
      return all.filter((r) => r.exportTime === rec.exportTime && r.messageIndex === rec.messageIndex).length;
    case 'scope_system':
      return rec.fields['scopeSystem'];
    case 'first_switched':
      return rec.start === undefined ? undefined : new Date(rec.start).toISOString();
    case 'last_switched':
      return rec.end === undefined ? undefined : new Date(rec.end).toISOString();
    default:
      for (const k of candidateKeys(name, ids)) if (k in rec.fields) return rec.fields[k];
      return undefined;
  }
}

/**
 * Logstash renders some values its own way; compare meaning, not spelling. Times: within one second
 * (README: derived times are shaky upstream). Logstash forwarding_status {status, reason} = our byte
 * split 2/6 bits; application_id "engine..selector" = our hex octets.
 */
function same(want: unknown, got: unknown): boolean {
  if (got === undefined) return false;
  if (typeof want === 'string' && ISO.test(want)) {
    const g = typeof got === 'number' ? got : typeof got === 'string' ? Date.parse(got) : NaN;
    return Math.abs(Date.parse(want) - g) <= 1000;
  }
  if (typeof want === 'number' && typeof got === 'string' && ISO.test(got)) {
    const g = Date.parse(got);
    return Math.abs(g - want) <= 1000 || Math.abs(g / 1000 - want) <= 1;
  }
  if (typeof want === 'object' && want !== null && 'status' in want && typeof got === 'number') {
    const w = want as { status: number; reason: number };
    return w.status === got >> 6 && w.reason === (got & 0x3f);
  }
  if (
    typeof want === 'string' &&
    /^\d+\.\.\d+$/.test(want) &&
    typeof got === 'string' &&
    /^[0-9a-f]+$/.test(got)
  ) {
    const [engine, selector] = want.split('..').map(Number);
    return parseInt(got.slice(0, 2), 16) === engine && parseInt(got.slice(2) || '0', 16) === selector;
  }
  if (typeof want === 'number' && typeof got === 'number' && !Number.isInteger(want)) {
    return Math.abs(want - got) <= 1e-4 * Math.max(1, Math.abs(want));
  }
  return want === got;
}

function checkLcn(c: LcnCase, ids: FieldIds): { problems: string[]; asserted: number } {
  const problems: string[] = [];
  const fed = feed(c.feed_order.map((f) => path.join(flowDir, 'logstash-codec-netflow/dat', f)));
  const internal = fed.errors.filter((e) => e.code === 'internal');
  if (internal.length > 0) problems.push(`decoder threw: ${internal[0]!.message}`);
  const view = GLUED.has(c.file) ? fed.records.filter((r) => r.messageIndex === 0) : fed.records;
  if (c.record_count !== null && view.length !== c.record_count) {
    problems.push(`record count ${view.length}, upstream ${c.record_count}`);
  }
  let asserted = 0;
  for (const e of c.expected) {
    const rec = view[e.record_index];
    if (!rec) {
      problems.push(`record ${e.record_index} missing`);
      continue;
    }
    for (const [name, want] of Object.entries(e.fields)) {
      asserted++;
      const got = ours(rec, view, name, ids);
      if (!same(want, got))
        problems.push(`#${e.record_index} ${name}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
    }
  }
  return { problems, asserted };
}

// ---------------------------------------------------------------- nfdump reference decodes

interface NfdumpRecord {
  first: string;
  last: string;
  in_packets: number;
  in_bytes: number;
  proto: number;
  tcp_flags?: string;
  src_port?: number;
  dst_port?: number;
  icmp_type?: number;
  icmp_code?: number;
  src4_addr?: string;
  dst4_addr?: string;
  src6_addr?: string;
  dst6_addr?: string;
}

function flagBits(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  let v = 0;
  for (let i = 0; i < s.length; i++) if (s[i] !== '.') v |= 1 << (s.length - 1 - i);
  return v;
}

/** nfdump prints UTC without a zone; 1970 means "no time in the record". */
function nfTime(s: string): number | undefined {
  return s.startsWith('1970-01-01') ? undefined : Date.parse(`${s}Z`);
}

/** nfdump prints 0 for what a record does not carry, so absent compares as 0. */
function num(r: FlowRecord, ...keys: string[]): number {
  for (const k of keys) {
    const v = r.fields[k];
    if (typeof v === 'number') return v;
  }
  return 0;
}

/** Record-by-record comparison with nfdump: 5-tuple, packets, bytes, TCP flags, first/last (±1 s). */
let recordsCompared = 0;
let recordsMatched = 0;

function compareNfdump(got: FlowRecord[], want: NfdumpRecord[]): string[] {
  const problems: string[] = [];
  if (got.length !== want.length) problems.push(`record count ${got.length}, nfdump ${want.length}`);
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const before = problems.length;
    const r = got[i]!;
    const w = want[i]!;
    const icmp = w.proto === 1 || w.proto === 58;
    const f = r.fields;
    const dport = num(r, 'destinationTransportPort', 'udpDestinationPort', 'tcpDestinationPort');
    const checks: Array<[string, unknown, unknown]> = [
      ['src', w.src4_addr ?? w.src6_addr, f['sourceIPv4Address'] ?? f['sourceIPv6Address']],
      ['dst', w.dst4_addr ?? w.dst6_addr, f['destinationIPv4Address'] ?? f['destinationIPv6Address']],
      ['proto', w.proto, num(r, 'protocolIdentifier')],
      ['packets', w.in_packets, num(r, 'packetDeltaCount', 'packetTotalCount', 'initiatorPackets')],
      ['bytes', w.in_bytes, num(r, 'octetDeltaCount', 'octetTotalCount', 'initiatorOctets')],
    ];
    if (icmp) {
      const has = (...k: string[]): boolean => k.some((x) => x in f);
      const tc = has('icmpTypeCodeIPv4', 'icmpTypeCodeIPv6')
        ? num(r, 'icmpTypeCodeIPv4', 'icmpTypeCodeIPv6')
        : dport;
      const type = has('icmpTypeIPv4', 'icmpTypeIPv6') ? num(r, 'icmpTypeIPv4', 'icmpTypeIPv6') : tc >> 8;
      const code = has('icmpCodeIPv4', 'icmpCodeIPv6') ? num(r, 'icmpCodeIPv4', 'icmpCodeIPv6') : tc & 0xff;
      checks.push(['icmp_type', w.icmp_type ?? 0, type]);
      checks.push(['icmp_code', w.icmp_code ?? 0, code]);
    } else {
      checks.push([
        'src_port',
        w.src_port ?? 0,
        num(r, 'sourceTransportPort', 'udpSourcePort', 'tcpSourcePort'),
      ]);
      checks.push(['dst_port', w.dst_port ?? 0, dport]);
      checks.push(['tcp_flags', flagBits(w.tcp_flags) ?? 0, num(r, 'tcpControlBits') & 0xff]);
    }
    for (const [name, a, b] of checks)
      if (a !== b) problems.push(`#${i} ${name}: nfdump ${String(a)} ours ${String(b)}`);
    const first = nfTime(w.first);
    const last = nfTime(w.last);
    if (first !== undefined && (r.start === undefined || Math.abs(r.start - first) > 1000))
      problems.push(
        `#${i} first: nfdump ${w.first} ours ${r.start === undefined ? '-' : new Date(r.start).toISOString()}`,
      );
    if (last !== undefined && (r.end === undefined || Math.abs(r.end - last) > 1000))
      problems.push(
        `#${i} last: nfdump ${w.last} ours ${r.end === undefined ? '-' : new Date(r.end).toISOString()}`,
      );
    recordsCompared++;
    if (problems.length === before) recordsMatched++;
  }
  return problems;
}

function datagrams(dir: string): string[] {
  const abs = path.join(flowDir, dir);
  return fs
    .readdirSync(abs)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => path.join(abs, f));
}

let fieldsAsserted = 0;
const tally: Record<string, { pass: number; total: number }> = {};
function count(suite: string, key: string, problems: string[]): void {
  const t = (tally[suite] ??= { pass: 0, total: 0 });
  t.total++;
  if (problems.length === 0) t.pass++;
  else if (process.env.FLOW_CONFORMANCE_VERBOSE) console.log(key, problems.slice(0, 8));
}

describeCorpus('flow conformance (public corpus)', () => {
  afterAll(() => {
    console.log(
      `flow conformance: ${Object.entries(tally)
        .map(([s, t]) => `${s} ${t.pass}/${t.total}`)
        .join(
          ', ',
        )}; nfdump records matched ${recordsMatched}/${recordsCompared}; logstash fields asserted ${fieldsAsserted}`,
    );
  });

  describe('logstash-codec-netflow', () => {
    const manifest = present
      ? readJson<{ logstash_codec_netflow: { cases: Array<{ id: string; expected: string }> } }>(
          'manifest.json',
        )
      : null;
    const cases = manifest?.logstash_codec_netflow.cases ?? [];
    const ids = present ? readJson<FieldIds>('logstash-codec-netflow/field_ids.json') : { fields: {} };

    it('has all 43 public cases', () => {
      expect(cases).toHaveLength(43);
    });

    it('reports a value that differs from upstream (the comparison is not vacuous)', () => {
      const c = readJson<LcnCase>('logstash-codec-netflow/expected/netflow_9_valid_01.json');
      const first = c.expected[0]!;
      const wrong: LcnCase = {
        ...c,
        expected: [{ ...first, fields: { ...first.fields, in_bytes: 77, ipv4_src_addr: '1.2.3.4' } }],
      };
      expect(checkLcn(wrong, ids).problems).toEqual([
        '#0 ipv4_src_addr: want "1.2.3.4" got "172.16.32.100"',
        '#0 in_bytes: want 77 got 76',
      ]);
    });

    it.each(cases.map((c) => [c.id, c.expected] as const))('%s decodes as upstream asserts', (id, rel) => {
      const c = readJson<LcnCase>(rel);
      const { problems, asserted } = checkLcn(c, ids);
      fieldsAsserted += asserted;
      count('logstash-codec-netflow', `lcn:${id}`, problems);
      expectOutcome(`lcn:${id}`, problems);
    });
  });

  describe('logstash-codec-netflow captures against nfdump', () => {
    const manifest = present
      ? readJson<{ logstash_codec_netflow: { cases: Array<{ id: string; expected: string }> } }>(
          'manifest.json',
        )
      : null;
    const cases = manifest?.logstash_codec_netflow.cases ?? [];

    it.each(cases.map((c) => [c.id, c.expected] as const))('%s: flow records match nfdump', (id, rel) => {
      const c = readJson<LcnCase>(rel);
      const fed = feed(c.feed_order.map((f) => path.join(flowDir, 'logstash-codec-netflow/dat', f)));
      const flows = fed.records.filter((r) => !r.options);
      const problems = compareNfdump(flows, c.nfdump_reference?.records ?? []);
      count('lcn-nfdump', `lcn-nfdump:${id}`, problems);
      expectOutcome(`lcn-nfdump:${id}`, problems);
    });
  });

  describe('softflowd captures against nfdump', () => {
    it.each(['v5', 'v9', 'ipfix'])('%s: all 2216 flows match nfdump record by record', (set) => {
      const fed = feed(datagrams(`softflowd/${set}`));
      const flows = fed.records.filter((r) => !r.options);
      const problems = [
        ...fed.errors.map((e) => `error ${e.code}: ${e.message}`),
        ...compareNfdump(flows, readJson<NfdumpRecord[]>(`softflowd/${set}.nfdump.expected.json`)),
      ];
      count('softflowd', `softflowd:${set}`, problems);
      expectOutcome(`softflowd:${set}`, problems);
      expect(flows.length).toBeGreaterThan(0);
    });
  });

  describe('mutated real datagrams', () => {
    it('never make the decoder throw (deterministic byte flips, truncations and splices)', () => {
      const files = [
        ...datagrams('softflowd/v9').slice(0, 3),
        ...datagrams('softflowd/ipfix').slice(0, 3),
        ...datagrams('pmacct/104-IPFIXv10-IPv6-CISCO-sampling_option/datagrams'),
        path.join(flowDir, 'logstash-codec-netflow/dat/ipfix_test_netscaler_tpl.dat'),
        path.join(flowDir, 'logstash-codec-netflow/dat/ipfix_test_netscaler_data.dat'),
      ].map((f) => fs.readFileSync(f));
      let seed = 12345;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const cache = new MemoryTemplateCache();
      let errors = 0;
      for (let i = 0; i < 3000; i++) {
        const src = files[rnd(files.length)]!;
        const buf = Buffer.from(src.subarray(0, 1 + rnd(src.length)));
        for (let k = rnd(4); k >= 0; k--) buf[rnd(buf.length)] = rnd(256);
        const r = decodeDatagram(buf, { exporter: EXPORTER, receivedAt: new Date(i) }, cache);
        expect(r.errors.filter((e) => e.code === 'internal')).toEqual([]);
        errors += r.errors.length;
      }
      expect(errors).toBeGreaterThan(0);
    });
  });

  describe('softflowd captures through the ECS mapping', () => {
    it.each(['v5', 'v9', 'ipfix'])(
      '%s: every flow becomes a network event with a unique id and a community id',
      (set) => {
        const fed = feed(datagrams(`softflowd/${set}`));
        const docs = fed.records
          .filter((r) => !r.options)
          .map((r) => flowToEcs(r, { receivedAt: new Date(0) }));
        expect(docs).toHaveLength(2216);
        expect(new Set(docs.map((d) => d.event.id)).size).toBe(docs.length);
        const bad = docs.filter(
          (d) =>
            d.event.kind !== 'event' ||
            d.event.category?.[0] !== 'network' ||
            d.source?.ip === undefined ||
            d.destination?.ip === undefined ||
            d.network?.transport === undefined ||
            !/^1:[A-Za-z0-9+/]{27}=$/.test(d.network.community_id ?? '') ||
            typeof d.network.bytes !== 'number' ||
            typeof d.event.start !== 'string',
        );
        expect(bad).toEqual([]);
        // The SYN scan of the capture (README): one source, 1024 destination ports on one host.
        const scanPorts = new Set(
          docs
            .filter((d) => d.source?.ip === '10.66.6.6' && d.destination?.ip === '10.20.0.15')
            .map((d) => d.destination?.port),
        );
        expect(scanPorts.size).toBe(1024);
      },
    );

    it.each(['v5', 'v9', 'ipfix'])(
      '%s: flow.fields plus the ECS fields give back every decoded element (stored JSON)',
      (set) => {
        const fed = feed(datagrams(`softflowd/${set}`));
        const lost = fed.records.filter((r) => {
          const stored = JSON.parse(JSON.stringify(flowToEcs(r, { receivedAt: new Date(0) }))) as Parameters<
            typeof fullFlowFields
          >[0];
          return !isDeepStrictEqual(fullFlowFields(stored), r.fields);
        });
        expect(fed.records.length).toBeGreaterThanOrEqual(2216);
        expect(lost.map((r) => r.fields)).toEqual([]);
      },
    );
  });

  describe('pmacct', () => {
    const cases = present
      ? fs
          .readdirSync(path.join(flowDir, 'pmacct'))
          .filter((d) => fs.existsSync(path.join(flowDir, 'pmacct', d, 'datagrams')))
      : [];

    it.each(cases)('%s matches nfdump record by record', (c) => {
      const fed = feed(datagrams(`pmacct/${c}/datagrams`));
      const flows = fed.records.filter((r) => !r.options);
      const want = readJson<{ records: NfdumpRecord[] }>(`pmacct/${c}/nfdump.expected.json`).records;
      const problems = [
        ...fed.errors.map((e) => `error ${e.code}: ${e.message}`),
        ...compareNfdump(flows, want),
      ];
      count('pmacct-nfdump', `pmacct:${c}:nfdump`, problems);
      expectOutcome(`pmacct:${c}:nfdump`, problems);
    });

    it.each(cases)("%s matches nfacctd's sampling-corrected output through the ECS mapping", (c) => {
      const fed = feed(datagrams(`pmacct/${c}/datagrams`));
      const docs = fed.records
        .filter((r) => !r.options)
        .map((r) =>
          flowToEcs(r, {
            receivedAt: new Date(0),
            facts: fed.cache.facts({
              exporter: EXPORTER,
              version: r.version === 5 ? 9 : r.version,
              domain: r.domain,
            }),
          }),
        );
      const key = (ip1: unknown, ip2: unknown, p1: unknown, p2: unknown, b: unknown, p: unknown): string =>
        JSON.stringify([ip1, ip2, p1 ?? 0, p2 ?? 0, b, p]);
      const ourKeys = docs
        .map((d) =>
          key(
            d.source?.ip,
            d.destination?.ip,
            d.source?.port,
            d.destination?.port,
            d.network?.bytes,
            d.network?.packets,
          ),
        )
        .sort();
      const lines = fs
        .readFileSync(path.join(flowDir, 'pmacct', c, 'output-flow-00.json'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const theirKeys = lines
        .map((l) => key(l['ip_src'], l['ip_dst'], l['port_src'], l['port_dst'], l['bytes'], l['packets']))
        .sort();
      const problems: string[] = [];
      if (ourKeys.length !== theirKeys.length)
        problems.push(`${ourKeys.length} flows, nfacctd ${theirKeys.length}`);
      const missing = theirKeys.filter((k) => !ourKeys.includes(k));
      if (missing.length > 0) problems.push(`${missing.length} nfacctd lines unmatched, e.g. ${missing[0]}`);
      count('pmacct-nfacctd', `pmacct:${c}:nfacctd`, problems);
      expectOutcome(`pmacct:${c}:nfacctd`, problems);
    });
  });
});
