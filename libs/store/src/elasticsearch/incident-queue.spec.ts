import { type IncidentLifecycleDoc, withDerived } from './incident-docs';
import { ElasticsearchIncidentQueue } from './incident-queue';
import { ElasticsearchIncidentStore, toIncident } from './incident-store';
import { FakeCluster } from './testing/fake-cluster.test';

const T0 = Date.parse('2026-11-27T01:00:00.000Z');
const ctx = { scope: undefined, me: 'an', now: T0, breachingWithinMs: 30 * 60_000 };

/** `n` new incidents, a few sharing each deadline and severity, so the order needs every sort key. */
function docs(n: number): IncidentLifecycleDoc[] {
  const severities = ['low', 'medium', 'high', 'critical'] as const;
  return Array.from({ length: n }, (_, i) =>
    withDerived({
      id: `inc-${String(i).padStart(5, '0')}`,
      status: 'new',
      assignee: null,
      reason: null,
      duplicate_of: null,
      created_at: T0 - (i % 7) * 1000,
      updated_at: T0,
      acknowledged_at: null,
      closed_at: null,
      reopened_at: null,
      claim_token: null,
      claim_expires_at: null,
      history: [],
      unit_path: null,
      tags: [],
      comments: [],
      outbox: [],
      ...(i % 5 === 0 ? {} : { sla: { acknowledge_due: T0 + (i % 3) * 60_000, breaches: [] } }),
      group: {
        key: `k${i}`,
        title: `t${i}`,
        severity: severities[i % 4]!,
        rule_ids: ['r'],
        entity: `e${i}`,
        alert_count: 1,
        first_seen: T0,
        last_seen: T0,
        reason: 'r',
        mitre: { tactics: [], techniques: [] },
        priority: i % 2,
        generation: 0,
        unit: null,
        alert_ids: [],
      },
    }),
  );
}

describe('ElasticsearchIncidentQueue: pages beyond the result window', () => {
  it('walks with search_after past the window and answers what from/size answers inside it', async () => {
    const fake = new FakeCluster();
    fake.modelRefresh = true;
    const store = new ElasticsearchIncidentStore(fake.client());
    await store.install();
    for (const d of docs(1200)) await fake.client().index({ index: store.index, id: d.id, document: d });
    await store.refresh();
    const wide = new ElasticsearchIncidentQueue(fake.client(), () => store.index, toIncident);
    // A window of 250: the same answers must come from walking 250 hits at a time.
    const narrow = new ElasticsearchIncidentQueue(fake.client(), () => store.index, toIncident, 250);
    const all = await wide.queueIds({ view: 'all' }, ctx, 10_001);
    expect(all).toHaveLength(1200);
    expect(new Set(all).size).toBe(1200);
    fake.requests.length = 0;
    expect(await narrow.queueIds({ view: 'all' }, ctx, 10_001)).toEqual(all);
    const searches = fake.requestsTo('POST', `/${store.index}/_search`);
    expect(searches).toHaveLength(5);
    expect(searches.every((r) => (r.body as { size: number }).size === 250)).toBe(true);
    expect(searches.slice(1).every((r) => (r.body as { search_after?: unknown[] }).search_after)).toBe(true);
    for (const page of [1, 2, 4, 5, 24, 25]) {
      const w = await wide.queuePage({ view: 'all' }, ctx, { page, size: 50 });
      const n = await narrow.queuePage({ view: 'all' }, ctx, { page, size: 50 });
      expect(n.items.map((i) => i.id)).toEqual(all.slice((page - 1) * 50, page * 50));
      expect(n).toEqual(w);
    }
  });
});
