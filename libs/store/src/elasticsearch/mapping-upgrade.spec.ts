import { groupingAlert } from '../contract/incident-grouping.contract.test';
import { incidentIndexTemplate } from './incident-docs';
import { ElasticsearchIncidentStore } from './incident-store';
import { mappedPaths } from './mapping-upgrade';
import { FakeCluster } from './testing/fake-cluster.test';
import { seedUnderOlderTemplate } from './testing/older-template.test';

const T0 = Date.parse('2026-11-27T01:00:00.000Z');

async function storeFromEarlierRelease() {
  const fake = new FakeCluster();
  fake.modelRefresh = true;
  const client = fake.client();
  const store = new ElasticsearchIncidentStore(client, { now: () => T0 });
  await seedUnderOlderTemplate(client, store, T0);
  return { fake, store };
}

describe('mappedPaths', () => {
  it('lists leaf fields with their types, objects and multi-fields included', () => {
    expect(
      Object.fromEntries(
        mappedPaths({
          id: { type: 'keyword' },
          group: {
            properties: {
              key: { type: 'keyword' },
              unit: { properties: { name: { type: 'text', fields: { raw: { type: 'keyword' } } } } },
            },
          },
          outbox: { type: 'object', enabled: false },
        }),
      ),
    ).toEqual({
      id: 'keyword',
      'group.key': 'keyword',
      'group.unit.name': 'text',
      'group.unit.name.raw': 'keyword',
      outbox: 'object',
    });
  });
});

describe('an incident index from an earlier release', () => {
  it('reads zeros for a field its mapping lacks until install maps it and re-indexes in place', async () => {
    const { fake, store } = await storeFromEarlierRelease();
    const before = await store.incidentRuleStats('hanoi');
    expect(before.map((r) => [r.rule_id, r.alerts])).toEqual([['r-1', 0]]);

    fake.requests.length = 0;
    const upgrades = await store.install();
    expect(upgrades.map((u) => u.index)).toEqual([
      store.index,
      `${store.index}-groups`,
      `${store.index}-alerts`,
    ]);
    expect(upgrades[0]?.added).toEqual(expect.arrayContaining(['group.alert_count', 'group.mitre.tactics']));
    expect(upgrades[0]?.added).not.toContain('group.key');
    expect(upgrades.every((u) => typeof u.task === 'string')).toBe(true);
    expect(fake.requestsTo('PUT', `/${store.index}/_mapping`)).toHaveLength(1);
    const ubq = fake.requestsTo('POST', `/${store.index}/_update_by_query`)[0];
    // The client sends `conflicts` in the body (Elasticsearch takes it there or in the query string).
    expect({ ...ubq?.querystring, ...(ubq?.body as object) }).toMatchObject({
      conflicts: 'proceed',
      wait_for_completion: 'false',
    });

    const after = await store.incidentRuleStats('hanoi');
    expect(after.map((r) => [r.rule_id, r.alerts])).toEqual([['r-1', 3]]);
  });

  it('is left alone once every field is mapped, and a new install touches no index', async () => {
    const { fake, store } = await storeFromEarlierRelease();
    await store.install();
    fake.requests.length = 0;
    expect(await store.install()).toEqual([]);
    expect(fake.requests.filter((r) => r.path.endsWith('/_mapping') && r.method === 'PUT')).toEqual([]);
    expect(fake.requests.filter((r) => r.path.endsWith('/_update_by_query'))).toEqual([]);

    const fresh = new ElasticsearchIncidentStore(new FakeCluster().client());
    expect(await fresh.install()).toEqual([]);
  });

  it('throws when a field changed type (that needs a new index, not an online upgrade)', async () => {
    const fake = new FakeCluster();
    const client = fake.client();
    const store = new ElasticsearchIncidentStore(client, { now: () => T0 });
    const t = structuredClone(incidentIndexTemplate(store.index)) as {
      template: { mappings: { properties: Record<string, unknown> } };
    };
    t.template.mappings.properties['status'] = { type: 'text' };
    await client.indices.putIndexTemplate({ name: store.index, ...(t as Record<string, unknown>) });
    await store.recordAlert(
      groupingAlert('a0', new Date(T0).toISOString(), { rule: 'r', ip: '10.0.0.9' }),
      60_000,
    );
    await expect(store.install()).rejects.toThrow(
      /maps status as text \(this release: keyword\).*nothing was changed/,
    );
  });
});
