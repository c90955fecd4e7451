import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { type EventQuery, type EventStore } from '../ports';

/**
 * One behavioural contract for every EventStore: the SQLite file store, the Elasticsearch store against
 * the in-memory fake behind `@elastic/elasticsearch-mock`, and the Elasticsearch store against a real
 * cluster. Call it inside a describe block; the factory opens a fresh, empty store per test.
 */
export interface StoreUnderTest {
  store: EventStore;
  cleanup(): Promise<void>;
}

export const contractEvent = (
  id: string,
  ts: string,
  message: string,
  extra: Partial<EcsEvent> = {},
): EcsEvent => ({
  '@timestamp': ts,
  message,
  event: { id, created: ts, dataset: 'syslog', module: 'syslog' },
  ...extra,
});

export const contractAlert = (
  id: string,
  ts: string,
  entity = 'source.ip:10.0.0.9',
  level: Alert['rule']['level'] = 'medium',
  ruleId = 'rule-1',
): Alert => ({
  id,
  '@timestamp': ts,
  created_at: ts,
  rule: { id: ruleId, title: 'SSH brute force', level, version: 'v1' },
  entity,
  event_ids: [`e-${id}`],
  event: contractEvent(`e-${id}`, ts, 'x'),
});

export function eventStoreContract(open: () => Promise<StoreUnderTest>): void {
  let sut: StoreUnderTest;
  let store: EventStore;
  beforeEach(async () => {
    sut = await open();
    store = sut.store;
  });
  afterEach(async () => {
    await sut.cleanup();
  });

  const ids = async (q: EventQuery) => (await store.searchEvents(q)).items.map((e) => e.event.id);

  it('stores each event once however often it is inserted, and stamps event.ingested', async () => {
    const e = contractEvent('a', '2026-11-27T01:00:00.000Z', 'hello');
    expect(await store.insertEvents([e])).toBe(1);
    expect(await store.insertEvents([e])).toBe(0);
    expect(await store.writeEvents([e])).toEqual({ inserted: 0, duplicates: 1, rejected: [] });
    expect(await store.countEvents()).toBe(1);
    const [got] = (await store.searchEvents({})).items;
    expect(got?.event.id).toBe('a');
    expect(got?.event.ingested).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('finds events by words, by field and by time range, newest first', async () => {
    await store.insertEvents([
      contractEvent('1', '2026-11-27T01:00:00.000Z', 'Failed password for root from 10.0.0.9', {
        source: { ip: '10.0.0.9' },
      }),
      contractEvent('2', '2026-11-27T02:00:00.000Z', 'Accepted password for alice', {
        source: { ip: '10.0.0.7' },
      }),
      contractEvent('3', '2026-11-27T03:00:00.000Z', 'Đăng nhập thất bại cho người dùng quản trị', {
        source: { ip: '10.0.0.9' },
      }),
    ]);
    expect(await ids({ text: 'password' })).toEqual(['2', '1']);
    expect(await ids({ text: 'failed root' })).toEqual(['1']);
    expect(await ids({ text: 'dang nhap' })).toEqual(['3']);
    expect(await ids({ text: '" OR *' })).toEqual([]);
    expect(await ids({ fields: { 'source.ip': '10.0.0.9' } })).toEqual(['3', '1']);
    expect(await ids({ from: '2026-11-27T01:30:00Z', to: '2026-11-27T03:00:00Z' })).toEqual(['2']);
    expect(await ids({ from: '2026-11-27T01:00:00Z', to: '2026-11-27T01:00:00.001Z' })).toEqual(['1']);
  });

  it('pages with a cursor without repeating or skipping, including equal timestamps', async () => {
    const events = Array.from({ length: 25 }, (_, i) =>
      contractEvent(
        `id${String(i).padStart(2, '0')}`,
        // Pairs share a timestamp: the tiebreaker must order them.
        `2026-11-27T01:00:${String(Math.floor(i / 2)).padStart(2, '0')}.000Z`,
        `m${i}`,
      ),
    );
    await store.insertEvents(events);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await store.searchEvents({ limit: 10, ...(after ? { after } : {}) });
      seen.push(...page.items.map((e) => e.event.id));
      after = page.next;
      pages++;
    } while (after && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(events.map((e) => e.event.id).reverse());
  });

  const unit = (path: string[]) => ({
    id: path[path.length - 1] as string,
    name: path.join(' / '),
    path,
    criticality: 'medium' as const,
  });
  const HANOI = ['hanoi'];
  const BA_DINH = ['hanoi', 'ba-dinh'];
  const BA_DINH_2 = ['hanoi', 'ba-dinh-2'];
  const WARD = ['hanoi', 'ba-dinh', 'phuc-xa'];
  /** One event per way of being in a unit, plus near misses: the scope must pick exactly the same ones. */
  const scopedEvents = (): EcsEvent[] => [
    contractEvent('reported', '2026-11-27T01:00:00.000Z', 'login ok', { citysoc: { unit: unit(BA_DINH) } }),
    contractEvent('from-ward', '2026-11-27T01:00:10.000Z', 'login ok', {
      source: { ip: '10.1.0.5' },
      citysoc: { unit: unit(HANOI), source_unit: unit(WARD) },
    }),
    contractEvent('to-ba-dinh', '2026-11-27T01:01:00.000Z', 'login failed', {
      source: { ip: '10.1.0.6' },
      citysoc: { destination_unit: unit(BA_DINH) },
    }),
    contractEvent('sibling', '2026-11-27T01:02:00.000Z', 'login ok', { citysoc: { unit: unit(BA_DINH_2) } }),
    contractEvent('city-only', '2026-11-27T01:03:00.000Z', 'login ok', { citysoc: { unit: unit(HANOI) } }),
    contractEvent('no-unit', '2026-11-27T01:04:00.000Z', 'login ok'),
  ];

  it('applies the unit scope to event search: reporting, source or destination unit in the subtree', async () => {
    await store.insertEvents(scopedEvents());
    expect(await ids({ scope: 'hanoi/ba-dinh' })).toEqual(['to-ba-dinh', 'from-ward', 'reported']);
    expect(await ids({ scope: 'hanoi/ba-dinh/phuc-xa' })).toEqual(['from-ward']);
    expect(await ids({ scope: 'hanoi/ba-dinh-2' })).toEqual(['sibling']);
    expect(await ids({ scope: 'hanoi' })).toEqual([
      'city-only',
      'sibling',
      'to-ba-dinh',
      'from-ward',
      'reported',
    ]);
    // A unit id under the wrong ancestors is not the scope's subtree.
    expect(await ids({ scope: 'danang/ba-dinh' })).toEqual([]);
    expect(await ids({ scope: 'hanoi/ba-dinh', text: 'failed' })).toEqual(['to-ba-dinh']);
    expect(await ids({ scope: 'hanoi/ba-dinh', fields: { 'source.ip': '10.1.0.5' } })).toEqual(['from-ward']);
    expect(await ids({})).toHaveLength(6);
  });

  it('aggregates over time and top values, within the unit scope when one is given', async () => {
    await store.insertEvents(scopedEvents());
    const all = await store.aggregateEvents({ intervalMs: 60_000, top: ['message', 'source.ip'] });
    expect(all).toEqual({
      total: 6,
      intervalMs: 60_000,
      histogram: [
        { start: '2026-11-27T01:00:00.000Z', count: 2 },
        { start: '2026-11-27T01:01:00.000Z', count: 1 },
        { start: '2026-11-27T01:02:00.000Z', count: 1 },
        { start: '2026-11-27T01:03:00.000Z', count: 1 },
        { start: '2026-11-27T01:04:00.000Z', count: 1 },
      ],
      top: {
        message: [
          { value: 'login ok', count: 5 },
          { value: 'login failed', count: 1 },
        ],
        'source.ip': [
          { value: '10.1.0.5', count: 1 },
          { value: '10.1.0.6', count: 1 },
        ],
      },
    });
    const scoped = await store.aggregateEvents({
      intervalMs: 3_600_000,
      top: ['message'],
      topN: 1,
      scope: 'hanoi/ba-dinh',
    });
    expect(scoped).toEqual({
      total: 3,
      intervalMs: 3_600_000,
      histogram: [{ start: '2026-11-27T01:00:00.000Z', count: 3 }],
      top: { message: [{ value: 'login ok', count: 2 }] },
    });
    const none = await store.aggregateEvents({ intervalMs: 60_000, top: ['message'], scope: 'danang' });
    expect(none).toEqual({ total: 0, intervalMs: 60_000, histogram: [], top: { message: [] } });
  });

  it('applies the unit scope to alerts through the unit of their event', async () => {
    const [reported, fromWard, , sibling] = scopedEvents();
    const alertOf = (id: string, ts: string, event: EcsEvent): Alert => ({ ...contractAlert(id, ts), event });
    await store.insertAlerts([
      alertOf('x1', '2026-11-27T01:00:00.000Z', reported as EcsEvent),
      alertOf('x2', '2026-11-27T01:01:00.000Z', fromWard as EcsEvent),
      alertOf('x3', '2026-11-27T01:02:00.000Z', sibling as EcsEvent),
    ]);
    const list = async (scope: string) => (await store.listAlerts({ scope })).items.map((a) => a.id);
    expect(await list('hanoi/ba-dinh')).toEqual(['x2', 'x1']);
    expect(await list('hanoi/ba-dinh-2')).toEqual(['x3']);
    expect(await list('danang')).toEqual([]);
    expect((await store.listAlerts({})).items).toHaveLength(3);
  });

  it('rejects malformed queries with a clear error', async () => {
    await expect(store.searchEvents({ after: 'not-a-cursor' })).rejects.toThrow(/invalid cursor/);
    await expect(store.searchEvents({ from: 'yesterday' })).rejects.toThrow(/ISO 8601/);
    await expect(store.searchEvents({ fields: { 'a b': 'x' } })).rejects.toThrow(/invalid field name/);
    await expect(store.searchEvents({ limit: 0 })).rejects.toThrow(/positive integer/);
  });

  it('stores alerts once, lists them by rule, level, entity and time, and gets one by id', async () => {
    const a1 = contractAlert('a1', '2026-11-27T01:00:00.000Z');
    const a2 = contractAlert('a2', '2026-11-27T02:00:00.000Z', 'host.hostname:web1', 'high');
    const a3 = contractAlert('a3', '2026-11-27T03:00:00.000Z', 'source.ip:10.0.0.9', 'low', 'rule-2');
    expect(await store.insertAlerts([a1, a2, a3, a1])).toBe(3);
    expect(await store.writeAlerts([a2])).toEqual({ inserted: 0, duplicates: 1, rejected: [] });
    expect(await store.countAlerts()).toBe(3);
    const list = async (q: Parameters<EventStore['listAlerts']>[0]) =>
      (await store.listAlerts(q)).items.map((a) => a.id);
    expect(await list({})).toEqual(['a3', 'a2', 'a1']);
    expect(await list({ ruleId: 'rule-1' })).toEqual(['a2', 'a1']);
    expect(await list({ level: 'high' })).toEqual(['a2']);
    expect(await list({ entity: 'source.ip:10.0.0.9' })).toEqual(['a3', 'a1']);
    expect(await list({ from: '2026-11-27T01:30:00Z' })).toEqual(['a3', 'a2']);
    const first = await store.listAlerts({ limit: 2 });
    expect(first.items.map((a) => a.id)).toEqual(['a3', 'a2']);
    expect(await list({ limit: 2, after: first.next })).toEqual(['a1']);
    expect(await store.getAlert('a2')).toEqual(a2);
    expect(await store.getAlert('nope')).toBeUndefined();
  });

  it('reports what it holds for the storage view', async () => {
    await store.insertEvents([contractEvent('s1', '2026-11-27T01:00:00.000Z', 'x')]);
    await store.insertAlerts([contractAlert('a1', '2026-11-27T01:00:00.000Z')]);
    const info = await store.storageInfo();
    expect(info).toMatchObject({ events: 1, alerts: 1 });
    expect(['ok', 'green', 'yellow', 'red']).toContain(info.status);
  });

  it('answers ping while open', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
}
