import { incidentIdFor } from '@citysoc/incidents';
import { groupingAlert } from '../contract/incident-grouping.contract.test';
import { IncidentConflictError, IncidentNotFoundError } from '../sqlite/incident-store';
import { type IncidentLifecycleDoc } from './incident-docs';
import { ElasticsearchIncidentStore } from './incident-store';
import { FakeCluster } from './testing/fake-cluster.test';
import { upkeepIncidentStore } from '../factory';

const T0 = Date.parse('2026-11-27T01:00:00.000Z');
const W = 15 * 60_000;
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

async function setup() {
  const fake = new FakeCluster();
  fake.modelRefresh = true;
  const clock = { ms: T0 };
  const store = new ElasticsearchIncidentStore(fake.client(), { now: () => clock.ms });
  await store.install();
  const open = async (name: string, min: number, more: string[] = []) => {
    clock.ms = T0 + min * 60_000;
    const id = (await store.recordAlert(groupingAlert(`al-${name}`, at(min), { rule: `rule-${name}` }), W))
      .incident.id;
    for (const [i, a] of more.entries())
      await store.recordAlert(groupingAlert(a, at(min + i + 1), { rule: `rule-${name}` }), W);
    return id;
  };
  const doc = (id: string) => fake.indices.get(store.index)?.get(id)?.doc as unknown as IncidentLifecycleDoc;
  /** Where each alert is: the incidents whose alerts hold it, and the merge transfers carrying it. */
  const whereIs = () => {
    const places = new Map<string, string[]>();
    const put = (a: string, p: string) => places.set(a, [...(places.get(a) ?? []), p]);
    for (const [id, e] of fake.indices.get(store.index) ?? []) {
      const d = e.doc as unknown as IncidentLifecycleDoc;
      for (const a of d.group?.alert_ids ?? []) put(a, id);
      for (const a of d.transfer?.alert_ids ?? []) put(a, `transfer:${id}`);
      for (const p of d.pending ?? [])
        if (p.op === 'split') for (const a of p.alert_ids) put(a, `split:${id}`);
    }
    return places;
  };
  /** Fails the next write of `id` (and only that one), as a crash or a lost connection would. */
  const failNextWrite = (id: string) => {
    fake.beforeWrite = (index, docId) => {
      if (index !== store.index || docId !== id) return undefined;
      fake.beforeWrite = undefined;
      return FakeCluster.error(503, 'unavailable_shards_exception', 'primary shard is not active');
    };
  };
  return { fake, clock, store, open, doc, whereIs, failNextWrite };
}

describe('ElasticsearchIncidentStore: the requests it sends', () => {
  it('records alerts without waiting for a refresh, acts with if_seq_no/if_primary_term and refresh=wait_for', async () => {
    const { fake, store, open } = await setup();
    fake.requests.length = 0;
    const id = await open('a', 0);
    expect(fake.requestsTo('PUT', `/${store.index}`).map((r) => [r.path, r.querystring])).toEqual([
      [`/${store.index}/_doc/${id}`, { op_type: 'create' }],
      [
        `/${store.index}-groups/_doc/${(fake.requestsTo('PUT', `/${store.index}-groups/`)[0]?.path ?? '').split('/').pop()}`,
        { op_type: 'create' },
      ],
      [`/${store.index}-alerts/_doc/al-a`, { op_type: 'create' }],
    ]);
    const seqNo = fake.indices.get(store.index)?.get(id)?.seqNo;
    fake.requests.length = 0;
    await store.assign(id, 'bob', 'alice');
    expect(fake.requestsTo('PUT', `/${store.index}/`).map((r) => r.querystring)).toEqual([
      { if_seq_no: String(seqNo), if_primary_term: '1', refresh: 'wait_for' },
    ]);
  });

  it('two simultaneous claims: both write on the same seq_no, one is answered 409 and refused on re-read', async () => {
    const { fake, store, open } = await setup();
    const id = await open('race', 0);
    const seqNo = fake.indices.get(store.index)?.get(id)?.seqNo;
    fake.requests.length = 0;
    const results = await Promise.allSettled([
      store.claim(id, 'alice', { token: 'ta', lockMs: 60_000 }),
      store.claim(id, 'bob', { token: 'tb', lockMs: 60_000 }),
    ]);
    const writes = fake
      .requestsTo('PUT', `/${store.index}/_doc/${id}`)
      .map((r) => r.querystring['if_seq_no']);
    expect(writes).toEqual([String(seqNo), String(seqNo)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(store.docs.conflicts).toBe(1);
  });

  it('lists with the query DSL: filters on mapped fields, newest first, search_after from the cursor', async () => {
    const { fake, store, open } = await setup();
    for (const [i, n] of ['a', 'b', 'c'].entries()) await open(n, i);
    await store.refresh();
    const first = await store.list({ limit: 2, status: 'new', scope: 'hanoi', text: 'a*b' });
    expect(first.items).toEqual([]);
    const page = await store.list({ limit: 2 });
    fake.requests.length = 0;
    await store.list({ limit: 2, after: page.next, status: 'new', scope: 'hanoi', text: 'a*b' });
    expect(fake.requests.map((r) => [r.method, r.path])).toEqual([['POST', `/${store.index}/_search`]]);
    expect(fake.requests[0]?.body).toEqual({
      query: {
        bool: {
          filter: [
            {
              bool: {
                should: [{ term: { unit_path: 'hanoi' } }, { prefix: { unit_path: 'hanoi/' } }],
                minimum_should_match: 1,
              },
            },
            { term: { status: 'new' } },
            {
              bool: {
                should: ['group.title', 'group.entity', 'group.reason'].map((f) => ({
                  wildcard: { [f]: { value: '*a\\*b*', case_insensitive: true } },
                })),
                minimum_should_match: 1,
              },
            },
          ],
        },
      },
      sort: [{ created_at: { order: 'desc' } }, { id: { order: 'desc' } }],
      size: 3,
      search_after: [T0 + 60_000, page.items[1]?.id],
    });
  });

  it('does not find an incident by a field the mapping does not index (dynamic: false)', async () => {
    const { fake, store, open } = await setup();
    await open('a', 0);
    await store.refresh();
    const hits = (
      await fake
        .client()
        .search({ index: store.index, query: { term: { 'group.title': 'Rule rule-a — 198.51.100.7' } } })
    ).hits.hits;
    expect(hits).toHaveLength(1);
    const unmapped = (
      await fake.client().search({ index: store.index, query: { exists: { field: 'history.actor' } } })
    ).hits.hits;
    expect(unmapped).toHaveLength(0);
  });
});

describe('ElasticsearchIncidentStore: merge and split survive a crash midway', () => {
  it('merge: the target write fails after the sources handed their alerts over; a retry completes it', async () => {
    const { store, open, doc, whereIs, failNextWrite } = await setup();
    const t = await open('t', 0);
    const a = await open('a', 1, ['a-2']);
    const b = await open('b', 5);
    // Writes to the target: 1 records the intent, 2 takes the alerts. Fail the second.
    let targetWrites = 0;
    const original = store.docs.act.bind(store.docs);
    store.docs.act = async (id, actor, scope, change) => {
      if (id === t && ++targetWrites === 2) failNextWrite(t);
      return original(id, actor, scope, change);
    };
    await expect(store.merge(t, [a, b], 'same attacker', 'alice')).rejects.toThrow();
    store.docs.act = original;
    // Half-done: the sources are duplicates, their alerts travel in their transfer markers, never lost.
    expect(doc(a)).toMatchObject({ status: 'duplicate', transfer: { key: expect.any(String), to: t } });
    expect(doc(t).pending).toHaveLength(1);
    for (const [alert, places] of whereIs()) expect([alert, places.length]).toEqual([alert, 1]);
    expect(whereIs().get('a-2')).toEqual([`transfer:${a}`]);
    const r = await store.merge(t, [a, b], 'same attacker', 'alice');
    expect(r.target.alert_count).toBe(4);
    expect([...(await store.alertIds(t))].sort()).toEqual(['a-2', 'al-a', 'al-b', 'al-t']);
    for (const [, places] of whereIs()) expect(places).toEqual([t]);
    expect([doc(t).pending, doc(a).transfer, doc(b).transfer]).toEqual([[], null, null]);
    // Asked once more: the merge is recognised as done, nothing moves.
    expect((await store.merge(t, [a, b], 'same attacker', 'alice')).moved).toBe(0);
    expect((await store.notes(t)).filter((n) => n.note.startsWith('merged '))).toHaveLength(1);
  });

  it('merge: a source closed by someone else between the check and its hand-over stays out', async () => {
    const { store, open, doc, whereIs } = await setup();
    const t = await open('t', 0);
    const a = await open('a', 1);
    const b = await open('b', 2);
    const original = store.docs.act.bind(store.docs);
    let raced = false;
    store.docs.act = async (id, actor, scope, change) => {
      if (id === b && !raced) {
        raced = true;
        await original(b, 'carol', undefined, (cur, now) => ({
          after: { ...cur, status: 'false_positive', reason: 'scanner', closed_at: now },
        }));
      }
      return original(id, actor, scope, change);
    };
    const r = await store.merge(t, [a, b], 'same', 'alice');
    store.docs.act = original;
    expect(r.merged.map((m) => m.id)).toEqual([a]);
    expect(r.moved).toBe(1);
    expect(doc(b).status).toBe('false_positive');
    expect(doc(b).transfer ?? null).toBeNull();
    expect(whereIs().get('al-b')).toEqual([b]);
    expect(whereIs().get('al-a')).toEqual([t]);
    expect(doc(t).pending).toEqual([]);
  });

  it('merge: the periodic sweep completes a merge whose caller vanished', async () => {
    const { store, open, whereIs, failNextWrite } = await setup();
    const t = await open('t', 0);
    const a = await open('a', 1);
    failNextWrite(a);
    await expect(store.merge(t, [a], 'r', 'alice')).rejects.toThrow();
    await store.refresh();
    expect(await store.completePending()).toBe(1);
    expect(whereIs().get('al-a')).toEqual([t]);
    expect((await store.get(a))?.status).toBe('duplicate');
  });

  it('merge: a transfer whose target never recorded the merge is undone', async () => {
    const { fake, store, open, doc, whereIs } = await setup();
    const t = await open('t', 0);
    const a = await open('a', 1);
    await store.merge(t, [a], 'r', 'alice');
    // Forge the state the protocol never leaves (a transfer without the target's intent) to show the repair.
    const entry = fake.indices.get(store.index)?.get(a);
    const transfer = {
      key: 'merge:forged',
      to: t,
      alert_ids: ['al-x'],
      alert_ts: [T0],
      evidence: [],
      severity: 'low',
      rule_ids: [],
      mitre: { tactics: [], techniques: [] },
      tags: [],
      before: {
        ...doc(a),
        status: 'new',
        duplicate_of: null,
        group: { ...doc(a).group, alert_ids: ['al-x'], alert_ts: [T0], alert_count: 1 },
      },
    };
    if (entry) entry.doc = { ...entry.doc, transfer };
    await store.refresh();
    await store.completePending();
    expect(doc(a)).toMatchObject({ status: 'new', transfer: null, duplicate_of: null });
    expect(whereIs().get('al-x')).toEqual([a]);
  });

  it('split: creating the new incident fails; a retry creates it and answers the split', async () => {
    const { store, open, whereIs, failNextWrite } = await setup();
    const id = await open('s', 0, ['s-2', 's-3']);
    const summary = {
      severity: 'high' as const,
      rule_ids: ['rule-s'],
      mitre: { tactics: [], techniques: [] },
      title: 'moved',
    };
    const before = whereIs();
    expect(before.get('s-2')).toEqual([id]);
    // The new incident's id is deterministic; fail its creation.
    const newId = incidentIdFor(`${(await store.get(id))?.group_key}|split`, 's-2');
    failNextWrite(newId);
    await expect(
      store.split(id, ['s-3', 's-2'], { moved: summary, kept: null }, 'r', 'alice'),
    ).rejects.toThrow();
    expect(whereIs().get('s-2')).toEqual([`split:${id}`]);
    const r = await store.split(id, ['s-3', 's-2'], { moved: summary, kept: null }, 'r', 'alice');
    expect(r.created.id).toBe(newId);
    expect(whereIs().get('s-2')).toEqual([newId]);
    expect(whereIs().get('al-s')).toEqual([id]);
    expect(
      (await store.split(id, ['s-2', 's-3'], { moved: summary, kept: null }, 'r', 'alice')).created.id,
    ).toBe(newId);
    // Its alerts are no longer the source's.
    await expect(
      store.split(id, ['s-2'], { moved: summary, kept: null }, 'r', 'alice'),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
    await expect(store.merge(id, [id], 'r', 'alice')).rejects.toBeInstanceOf(IncidentConflictError);
  });
});

describe('upkeepIncidentStore on Elasticsearch', () => {
  it('completes a merge whose caller vanished and reports what it did', async () => {
    const { store, open, whereIs, failNextWrite } = await setup();
    const t = await open('t', 0);
    const a = await open('a', 1);
    failNextWrite(a);
    await expect(store.merge(t, [a], 'r', 'alice')).rejects.toThrow();
    await store.refresh();
    expect(await upkeepIncidentStore(store)).toEqual({ completed: 1, auditPending: 0 });
    expect(whereIs().get('al-a')).toEqual([t]);
    await store.refresh();
    expect(await upkeepIncidentStore(store)).toEqual({ completed: 0, auditPending: 0 });
  });
});
