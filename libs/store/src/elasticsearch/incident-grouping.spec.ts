import { groupingAlert } from '../contract/incident-grouping.contract.test';
import { ElasticsearchIncidentDocs, groupHeadId, type IncidentLifecycleDoc } from './incident-docs';
import { FakeCluster } from './testing/fake-cluster.test';

/** Grouping on Elasticsearch without a transaction: exact requests, concurrent writers, crashes halfway. */
function setup() {
  const fake = new FakeCluster();
  const docs = new ElasticsearchIncidentDocs(fake.client(), {
    now: () => Date.parse('2026-11-27T05:00:00Z'),
  });
  return { fake, docs };
}
const W = 15 * 60_000;
const incidents = (fake: FakeCluster) =>
  [...(fake.indices.get('citysoc-incidents')?.values() ?? [])].map(
    (e) => e.doc as unknown as IncidentLifecycleDoc,
  );

describe('recordAlert on Elasticsearch', () => {
  it('opens an incident: create, then the group head, then the alert link (exact requests)', async () => {
    const { fake, docs } = setup();
    const alert = groupingAlert('a1', '2026-11-27T01:00:00.000Z');
    const r = await docs.recordAlert(alert, W);
    const head = groupHeadId(r.incident.group?.key as string);
    expect(fake.requests.map((q) => [q.method, q.path, q.querystring])).toEqual([
      ['GET', '/citysoc-incidents-alerts/_doc/a1', {}],
      ['GET', `/citysoc-incidents-groups/_doc/${head}`, {}],
      ['PUT', `/citysoc-incidents/_doc/${r.incident.id}`, { op_type: 'create' }],
      ['PUT', `/citysoc-incidents-groups/_doc/${head}`, { op_type: 'create' }],
      ['PUT', '/citysoc-incidents-alerts/_doc/a1', { op_type: 'create' }],
      ['GET', `/citysoc-incidents/_doc/${r.incident.id}`, {}],
    ]);
    fake.requests.length = 0;
    await docs.recordAlert(groupingAlert('a2', '2026-11-27T01:01:00.000Z'), W);
    const headSeq = fake.indices.get('citysoc-incidents-groups')?.get(head)?.seqNo;
    expect(fake.requests.map((q) => [q.method, q.path, q.querystring])).toEqual([
      ['GET', '/citysoc-incidents-alerts/_doc/a2', {}],
      ['GET', `/citysoc-incidents-groups/_doc/${head}`, {}],
      ['GET', `/citysoc-incidents/_doc/${r.incident.id}`, {}],
      [
        'PUT',
        `/citysoc-incidents/_doc/${r.incident.id}`,
        { if_seq_no: expect.any(String), if_primary_term: '1' },
      ],
      ['PUT', '/citysoc-incidents-alerts/_doc/a2', { op_type: 'create' }],
    ]);
    expect(headSeq).toBeDefined();
  });

  it('concurrent alerts of one group make one incident that counts every alert once', async () => {
    const { fake, docs } = setup();
    const alerts = Array.from({ length: 8 }, (_, i) =>
      groupingAlert(`c${i}`, `2026-11-27T01:0${i}:00.000Z`, { level: i === 5 ? 'critical' : 'medium' }),
    );
    const results = await Promise.all(alerts.map((a) => docs.recordAlert(a, W)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.incident.id)).size).toBe(1);
    const all = incidents(fake);
    expect(all).toHaveLength(1);
    expect(all[0]?.group).toMatchObject({ alert_count: 8, severity: 'critical' });
    expect([...(all[0]?.group?.alert_ids ?? [])].sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(docs.conflicts).toBeGreaterThan(0);
    // Replayed concurrently: nothing changes.
    const again = await Promise.all(alerts.map((a) => docs.recordAlert(a, W)));
    expect(again.every((r) => r.duplicate)).toBe(true);
    expect(incidents(fake)[0]?.group?.alert_count).toBe(8);
  });

  it('a crash after creating the incident, before the group head moved: the replay adopts it', async () => {
    const { fake, docs } = setup();
    const alert = groupingAlert('k1', '2026-11-27T01:00:00.000Z');
    fake.beforeWrite = (index) => {
      if (index !== 'citysoc-incidents-groups') return undefined;
      fake.beforeWrite = undefined;
      return FakeCluster.error(500, 'node_closed_exception', 'gone');
    };
    await expect(docs.recordAlert(alert, W)).rejects.toThrow(/node_closed_exception/);
    expect(incidents(fake)).toHaveLength(1);
    const r = await docs.recordAlert(alert, W);
    expect(r).toMatchObject({ created: true, duplicate: false });
    expect(incidents(fake)).toHaveLength(1);
    expect(r.incident.group?.alert_count).toBe(1);
    expect(await docs.recordAlert(alert, W)).toMatchObject({ duplicate: true });
  });

  it('a crash after attaching, before the alert link: the replay is recognised as a redelivery', async () => {
    const { fake, docs } = setup();
    const first = await docs.recordAlert(groupingAlert('m1', '2026-11-27T01:00:00.000Z'), W);
    fake.beforeWrite = (index) => {
      if (index !== 'citysoc-incidents-alerts') return undefined;
      fake.beforeWrite = undefined;
      return FakeCluster.error(500, 'node_closed_exception', 'gone');
    };
    const second = groupingAlert('m2', '2026-11-27T01:01:00.000Z');
    await expect(docs.recordAlert(second, W)).rejects.toThrow(/node_closed_exception/);
    expect(await docs.recordAlert(second, W)).toMatchObject({
      duplicate: true,
      incident: { id: first.incident.id },
    });
    expect(incidents(fake)[0]?.group?.alert_count).toBe(2);
    expect(fake.indices.get('citysoc-incidents-alerts')?.has('m2')).toBe(true);
  });

  it('installs one hidden index template for the incident, group and alert-link indices', async () => {
    const { fake, docs } = setup();
    expect(await docs.install()).toEqual([]);
    // Then it looks for indices of an earlier release to upgrade (none here: 404s, nothing written).
    expect(fake.requests.map((q) => [q.method, q.path])).toEqual([
      ['PUT', '/_index_template/citysoc-incidents'],
      ['GET', '/citysoc-incidents/_mapping'],
      ['GET', '/citysoc-incidents-groups/_mapping'],
      ['GET', '/citysoc-incidents-alerts/_mapping'],
    ]);
    expect(fake.indexTemplates.get('citysoc-incidents')).toMatchObject({
      index_patterns: ['citysoc-incidents', 'citysoc-incidents-groups', 'citysoc-incidents-alerts'],
      template: { settings: { 'index.hidden': true }, mappings: { dynamic: false } },
    });
    expect(fake.templateFor('citysoc-incidents-groups')).toBe(fake.indexTemplates.get('citysoc-incidents'));
  });
});
