import { type Alert, type Severity } from '@citysoc/ecs';
import { type QueueContext, type QueueFilter, type QueueGroup } from '../incident-queue-port';
import { type IncidentStore } from '../incident-port';
import { groupingAlert } from './incident-grouping.contract.test';
import { type IncidentStoreUnderTest, T0, type TestClock } from './incident-store.contract.test';

/**
 * IncidentQueueViews (the console queue, its bulk actions, the change stream, the reporter's scans), run on
 * SQLite (the reference) and on Elasticsearch (FakeCluster, and a real cluster when ELASTICSEARCH_URL is set).
 * One fixture of incidents in every state the filter distinguishes; every case asserts the exact ids in
 * queue order, so both stores answer the same results, in the same order, with the same paging.
 */

const W = 15 * 60_000;
const min = (m: number) => T0 + m * 60_000;
const at = (m: number) => new Date(min(m)).toISOString();
/** The queue is read ten minutes after T0. */
const NOW = min(10);

interface Spec {
  minute: number;
  unit?: string[];
  rule: string;
  level: Severity;
  ip: string;
  tags?: string[];
  title?: string;
}

/**
 * name → incident. Deadlines (minutes after T0) and fates are applied below. Expected queue order of `all`
 * at NOW: F and A share deadline and severity (F newer), E (resolve due +30), B (+300), then the ones
 * without a deadline by severity: C critical, G medium, D low.
 */
const FIXTURE: Record<string, Spec> = {
  G: { minute: -600, unit: ['hanoi', 'hoan-kiem'], rule: 'r-dns', level: 'medium', ip: '198.51.100.70' },
  A: { minute: 0, unit: ['hanoi', 'ba-dinh'], rule: 'r-ssh', level: 'high', ip: '198.51.100.10' },
  B: {
    minute: 1,
    unit: ['hanoi', 'ba-dinh', 'phuc-xa'],
    rule: 'r-ssh',
    level: 'medium',
    ip: '198.51.100.20',
  },
  C: {
    minute: 2,
    unit: ['hanoi', 'hoan-kiem'],
    rule: 'r-web',
    level: 'critical',
    ip: '198.51.100.30',
    tags: ['attack.initial-access'],
    title: 'Đăng nhập thất bại',
  },
  D: { minute: 3, rule: 'r-web', level: 'low', ip: '198.51.100.40' },
  E: { minute: 4, unit: ['hanoi', 'ba_dinh'], rule: 'r-dns', level: 'medium', ip: '198.51.100.50' },
  F: { minute: 5, unit: ['hanoi', 'ba-dinh'], rule: 'r-ssh', level: 'high', ip: '198.51.100.60' },
};

function alertOf(name: string, s: Spec): Alert {
  const a = groupingAlert(`al-${name}`, at(s.minute), {
    rule: s.rule,
    level: s.level,
    ip: s.ip,
    ...(s.unit ? { unit: s.unit } : {}),
    ...(s.tags ? { tags: s.tags } : {}),
  });
  return s.title ? { ...a, rule: { ...a.rule, title: s.title } } : a;
}

export function incidentQueueContract(open: (clock: TestClock) => Promise<IncidentStoreUnderTest>): void {
  let s: IncidentStoreUnderTest;
  let store: IncidentStore;
  const clock: TestClock = { ms: T0 };
  /** name → incident id, and back. */
  const ids: Record<string, string> = {};
  const names = new Map<string, string>();
  const named = (list: string[]) => list.map((id) => names.get(id) ?? id);
  const ctx = (o: Partial<QueueContext> = {}): QueueContext => ({
    scope: undefined,
    me: 'an',
    now: NOW,
    breachingWithinMs: 30 * 60_000,
    ...o,
  });

  beforeAll(async () => {
    clock.ms = T0;
    s = await open(clock);
    store = s.store;
    for (const [name, spec] of Object.entries(FIXTURE)) {
      clock.ms = min(spec.minute);
      const r = await store.recordAlert(alertOf(name, spec), W);
      expect(r.created).toBe(true);
      ids[name] = r.incident.id;
      names.set(r.incident.id, name);
    }
    // G was resolved yesterday (SOC time): not "closed today".
    clock.ms = min(-599);
    await store.transition(ids['G']!, { to: 'acknowledged' }, 'bo');
    await store.transition(ids['G']!, { to: 'in_progress' }, 'bo');
    await store.transition(ids['G']!, { to: 'resolved', reason: 'blocked' }, 'bo');
    clock.ms = min(8);
    await store.setSlaDeadlines(ids['A']!, [{ kind: 'acknowledge', dueMs: min(10) }]);
    await store.setSlaDeadlines(ids['F']!, [
      { kind: 'acknowledge', dueMs: min(10) },
      { kind: 'resolve', dueMs: min(500) },
    ]);
    await store.setSlaDeadlines(ids['B']!, [
      { kind: 'acknowledge', dueMs: min(20) },
      { kind: 'resolve', dueMs: min(300) },
    ]);
    await store.setSlaDeadlines(ids['E']!, [
      { kind: 'acknowledge', dueMs: min(15) },
      { kind: 'resolve', dueMs: min(30) },
    ]);
    clock.ms = min(9);
    await store.transition(ids['B']!, { to: 'acknowledged' }, 'an');
    await store.transition(ids['E']!, { to: 'acknowledged' }, 'bo');
    await store.transition(ids['E']!, { to: 'in_progress' }, 'bo');
    await store.transition(ids['D']!, { to: 'acknowledged' }, 'bo');
    await store.transition(ids['D']!, { to: 'false_positive', reason: 'scanner' }, 'bo');
    await s.settle();
  });
  afterAll(async () => {
    await s.cleanup();
  });

  const cases: Array<[string, QueueFilter, Partial<QueueContext>, string[]]> = [
    [
      'view all: deadline, severity, priority, newest, id',
      { view: 'all' },
      {},
      ['F', 'A', 'E', 'B', 'C', 'G', 'D'],
    ],
    ['view unclaimed (new)', { view: 'unclaimed' }, {}, ['F', 'A', 'C']],
    ['view mine (open and assigned to me)', { view: 'mine' }, {}, ['B']],
    ['view mine of another analyst', { view: 'mine' }, { me: 'bo' }, ['E']],
    ['view breaching (a deadline within 30 min)', { view: 'breaching' }, {}, ['F', 'A', 'E']],
    [
      'view breaching later: resolve deadlines pass too',
      { view: 'breaching' },
      { now: min(280) },
      ['F', 'A', 'E', 'B'],
    ],
    ['view open', { view: 'open' }, {}, ['F', 'A', 'E', 'B', 'C']],
    ['view closed_today (SOC day, UTC+7)', { view: 'closed_today' }, {}, ['D']],
    ['closed_today a day later: nothing', { view: 'closed_today' }, { now: min(24 * 60) }, []],
    [
      'scope: the unit and below, not a look-alike',
      { view: 'all' },
      { scope: 'hanoi/ba-dinh' },
      ['F', 'A', 'B'],
    ],
    ['scope with an underscore is literal', { view: 'all' }, { scope: 'hanoi/ba_dinh' }, ['E']],
    ['scope without incidents', { view: 'all' }, { scope: 'hanoi/tay-ho' }, []],
    ['unit filter (subtree)', { view: 'all', unit: 'hanoi' }, {}, ['F', 'A', 'E', 'B', 'C', 'G']],
    ['unit filter within scope', { view: 'all', unit: 'hanoi/hoan-kiem' }, { scope: 'hanoi/ba-dinh' }, []],
    ['severity', { view: 'all', severity: 'high' }, {}, ['F', 'A']],
    ['rule', { view: 'all', rule: 'r-web' }, {}, ['C', 'D']],
    ['tactic', { view: 'all', tactic: 'initial-access' }, {}, ['C']],
    ['tactic of most', { view: 'open', tactic: 'credential-access' }, {}, ['F', 'A', 'E', 'B']],
    ['entity', { view: 'all', entity: 'source.ip:198.51.100.40' }, {}, ['D']],
    ['text: folded Vietnamese in the title', { view: 'all', q: 'DANG NHAP' }, {}, ['C']],
    ['text: diacritics on the query side', { view: 'all', q: 'thất bại' }, {}, ['C']],
    ['text: unit name', { view: 'all', q: 'phuc-xa' }, {}, ['B']],
    ['text: entity', { view: 'all', q: '198.51.100.5' }, {}, ['E']],
    ['text: an underscore is literal', { view: 'all', q: 'ba_dinh' }, {}, ['E']],
    ['text: wildcards are literal', { view: 'all', q: 'ba?dinh' }, {}, []],
    ['text: percent is literal', { view: 'all', q: '100%' }, {}, []],
    ['text: rule in the title', { view: 'all', q: 'r-dns' }, {}, ['E', 'G']],
    ['time range: activity overlapping [from, to)', { view: 'all', from: at(2), to: at(4) }, {}, ['C', 'D']],
    [
      'time range: unparseable ends filter nothing',
      { view: 'all', from: 'soon', to: 'later' },
      {},
      ['F', 'A', 'E', 'B', 'C', 'G', 'D'],
    ],
    [
      'everything at once',
      { view: 'open', unit: 'hanoi', severity: 'high', rule: 'r-ssh', q: 'ba-dinh', from: at(0) },
      {},
      ['F', 'A'],
    ],
  ];

  it.each(cases)('%s: ids, count, order', async (_, f, c, want) => {
    expect(named(await store.queueIds(f, ctx(c), 100))).toEqual(want);
    expect(await store.queueCount(f, ctx(c))).toBe(want.length);
  });

  it('finds an incident by its exact id', async () => {
    expect(named(await store.queueIds({ view: 'all', q: ids['D']! }, ctx(), 100))).toEqual(['D']);
  });

  it('pages in queue order with the total on every page, and past the end', async () => {
    const pages = [];
    for (const page of [1, 2, 3, 4, 5]) {
      const p = await store.queuePage({ view: 'all' }, ctx(), { page, size: 2 });
      expect(p.total).toBe(7);
      expect(p.groups).toBeUndefined();
      pages.push(p.items.map((i) => names.get(i.id)));
    }
    expect(pages).toEqual([['F', 'A'], ['E', 'B'], ['C', 'G'], ['D'], []]);
    // The page holds whole incidents, as `get` answers them.
    const first = await store.queuePage({ view: 'all' }, ctx(), { page: 1, size: 1 });
    expect(first.items).toEqual([await store.get(ids['F']!)]);
  });

  it('bulk ids: one more than a bulk action allows walks the whole match in order', async () => {
    expect(named(await store.queueIds({ view: 'all' }, ctx(), 10_001))).toEqual([
      'F',
      'A',
      'E',
      'B',
      'C',
      'G',
      'D',
    ]);
    expect(named(await store.queueIds({ view: 'all' }, ctx(), 3))).toEqual(['F', 'A', 'E']);
  });

  const groups: Array<[QueueGroup, QueueFilter, Array<[string, number, string]>]> = [
    [
      'unit',
      { view: 'all' },
      [
        ['hanoi/ba-dinh', 2, 'high'],
        ['hanoi/hoan-kiem', 2, 'critical'],
        ['', 1, 'low'],
        ['hanoi/ba-dinh/phuc-xa', 1, 'medium'],
        ['hanoi/ba_dinh', 1, 'medium'],
      ],
    ],
    [
      'rule',
      { view: 'all' },
      [
        ['r-ssh', 3, 'high'],
        ['r-dns', 2, 'medium'],
        ['r-web', 2, 'critical'],
      ],
    ],
    [
      'tactic',
      { view: 'all' },
      [
        ['credential-access', 6, 'high'],
        ['initial-access', 1, 'critical'],
      ],
    ],
    [
      'entity',
      { view: 'open', unit: 'hanoi/ba-dinh' },
      [
        ['source.ip:198.51.100.10', 1, 'high'],
        ['source.ip:198.51.100.20', 1, 'medium'],
        ['source.ip:198.51.100.60', 1, 'high'],
      ],
    ],
  ];

  it.each(groups)(
    'group counts by %s: largest first, then key, with the highest severity',
    async (g, f, want) => {
      const p = await store.queuePage(f, ctx(), { page: 1, size: 1, group: g });
      expect(p.groups).toEqual(want.map(([key, count, max_severity]) => ({ key, count, max_severity })));
    },
  );

  it('group counts of an empty match', async () => {
    const p = await store.queuePage({ view: 'all' }, ctx({ scope: 'hanoi/tay-ho' }), {
      page: 1,
      size: 10,
      group: 'unit',
    });
    expect(p).toEqual({ items: [], total: 0, groups: [] });
  });

  /** Every incident's (updated_at, id) as `get` answers them, oldest change first. */
  async function changes(): Promise<Array<{ id: string; updated_at: number; name: string }>> {
    const all = [];
    for (const [name, id] of Object.entries(ids)) {
      const inc = (await store.get(id))!;
      all.push({ id, name, updated_at: Date.parse(inc.updated_at) });
    }
    return all.sort((x, y) => x.updated_at - y.updated_at || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  it('changes since a time: oldest first, id breaking ties, inclusive or not, in scope, limited', async () => {
    const all = await changes();
    const got = await store.changedSince({ since: 0, inclusive: true, limit: 100 });
    expect(got.map((c) => c.id)).toEqual(all.map((c) => c.id));
    const d = (await store.get(ids['D']!))!;
    expect(got.find((c) => c.id === ids['D'])).toEqual({
      id: d.id,
      status: 'false_positive',
      severity: 'low',
      updated_at: Date.parse(d.updated_at),
    });
    // B, D and E changed at minute 9: the watermark (≥) sees them again, the stream (>) does not.
    const t = min(9);
    const at9 = all.filter((c) => c.updated_at >= t).map((c) => c.name);
    expect(at9.sort()).toEqual(['B', 'D', 'E']);
    expect(
      named((await store.changedSince({ since: t, inclusive: true, limit: 100 })).map((c) => c.id)),
    ).toEqual(all.filter((c) => c.updated_at >= t).map((c) => c.name));
    expect(await store.changedSince({ since: t, inclusive: false, limit: 100 })).toEqual([]);
    expect(
      named(
        (await store.changedSince({ since: 0, inclusive: false, scope: 'hanoi/ba-dinh', limit: 100 })).map(
          (c) => c.id,
        ),
      ),
    ).toEqual(all.filter((c) => ['A', 'B', 'F'].includes(c.name)).map((c) => c.name));
    expect((await store.changedSince({ since: 0, inclusive: true, limit: 2 })).map((c) => c.id)).toEqual(
      all.slice(0, 2).map((c) => c.id),
    );
  });

  it('incidents active in a period: created or updated within [start, end), by (created_at, id)', async () => {
    // Created at minutes 2..4 (C, D, E), and B, D, E updated at minute 9; G long before, A and F outside.
    expect(named((await store.activeIn({ start: min(2), end: min(5) })).map((a) => a.id))).toEqual([
      'C',
      'D',
      'E',
    ]);
    expect(named((await store.activeIn({ start: min(9), end: min(10) })).map((a) => a.id))).toEqual([
      'B',
      'D',
      'E',
    ]);
    expect(await store.activeIn({ start: min(100), end: min(200) })).toEqual([]);
    const [c] = await store.activeIn({ start: min(2), end: min(3) });
    const inc = (await store.get(ids['C']!))!;
    expect(c).toEqual({
      id: inc.id,
      severity: 'critical',
      status: 'new',
      created_at: Date.parse(inc.created_at),
      updated_at: Date.parse(inc.updated_at),
      tags: inc.tags,
    });
  });
}
