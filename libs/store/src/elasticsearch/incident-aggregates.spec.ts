import { groupingAlert } from '../contract/incident-grouping.contract.test';
import { ElasticsearchIncidentAggregates } from './incident-aggregates';
import { ElasticsearchIncidentStore } from './incident-store';
import { FakeCluster } from './testing/fake-cluster.test';

const T0 = Date.parse('2026-11-27T01:00:00.000Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

/** Seven incidents, each its own rule and unit below hanoi, one of them a drill. */
async function setup() {
  const fake = new FakeCluster();
  fake.modelRefresh = true;
  const clock = { ms: T0 };
  const store = new ElasticsearchIncidentStore(fake.client(), { now: () => clock.ms });
  await store.install();
  for (let i = 0; i < 7; i++) {
    clock.ms = T0 + i * 60_000;
    await store.recordAlert(
      groupingAlert(`a${i}`, at(i), {
        rule: `r-${i}`,
        ip: `10.0.0.${i}`,
        unit: ['hanoi', `ward-${i % 3}`],
        ...(i === 6 ? { drillRun: 'd-AGGSPEC1' } : {}),
      }),
      15 * 60_000,
    );
  }
  await store.refresh();
  return { fake, store };
}

describe('ElasticsearchIncidentAggregates: the requests', () => {
  it('rule statistics: one size-0 search, the scope and the drill filter in bool.filter, a composite with the per-rule metrics', async () => {
    const { fake, store } = await setup();
    fake.requests.length = 0;
    const rows = await store.incidentRuleStats('hanoi');
    expect(rows.map((r) => r.rule_id)).toEqual(['r-0', 'r-1', 'r-2', 'r-3', 'r-4', 'r-5']);
    const searches = fake.requestsTo('POST', `/${store.index}/_search`);
    expect(searches.map((r) => r.body)).toEqual([
      {
        size: 0,
        track_total_hits: true,
        query: {
          bool: {
            filter: [
              {
                bool: {
                  should: [{ term: { unit_path: 'hanoi' } }, { prefix: { unit_path: 'hanoi/' } }],
                  minimum_should_match: 1,
                },
              },
              { bool: { must_not: [{ term: { 'derived.drill': true } }] } },
            ],
          },
        },
        aggs: {
          rows: {
            composite: { size: 500, sources: [{ rule: { terms: { field: 'group.rule_ids' } } }] },
            aggs: {
              alerts: { sum: { field: 'group.alert_count' } },
              false_positive: { filter: { term: { status: 'false_positive' } } },
              closed: { filter: { terms: { status: ['resolved', 'false_positive', 'duplicate'] } } },
              last_seen: { max: { field: 'group.last_seen' } },
              title: { terms: { field: 'group.title', size: 1, order: { _key: 'desc' } } },
            },
          },
        },
      },
    ]);
  });

  it('pages a composite to its last bucket with after_key: a small page gives the same figures as one page', async () => {
    const { fake, store } = await setup();
    const paged = new ElasticsearchIncidentAggregates(fake.client(), store.index, 2);
    fake.requests.length = 0;
    const units = await paged.incidentUnits(undefined);
    const afters = fake
      .requestsTo('POST', `/${store.index}/_search`)
      .map(
        (r) => (r.body as { aggs: { rows: { composite: { after?: unknown } } } }).aggs.rows.composite.after,
      );
    // Three unit paths, two per page: a full page, then the rest after the second key.
    expect(afters).toEqual([undefined, { path: 'hanoi/ward-1' }]);
    expect(units).toEqual(await store.incidentUnits(undefined));
    expect(units.map((u) => [u.path, u.incidents])).toEqual([
      ['hanoi/ward-0', 3],
      ['hanoi/ward-1', 2],
      ['hanoi/ward-2', 2],
    ]);
    for (const scope of [undefined, 'hanoi/ward-0']) {
      expect(await paged.incidentRuleStats(scope)).toEqual(await store.incidentRuleStats(scope));
      expect(await paged.incidentMitre(scope)).toEqual(await store.incidentMitre(scope));
      const q = { scope, since: T0, dueBefore: T0 + 3600_000 };
      expect(await paged.incidentDashboard(q)).toEqual(await store.incidentDashboard(q));
    }
  });

  it('answers empty figures before the incident index exists', async () => {
    const fake = new FakeCluster();
    const aggs = new ElasticsearchIncidentAggregates(fake.client(), 'citysoc-incidents-none');
    expect(await aggs.incidentUnits(undefined)).toEqual([]);
    expect(await aggs.slaBreachCounts()).toEqual({ real: [], drill: [] });
  });
});
