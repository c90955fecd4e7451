import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errors } from '@elastic/elasticsearch';
import { contractAlert, contractEvent } from '../contract/event-store.contract.test';
import { StoreUnavailableError } from './bulk';
import { ElasticsearchEventStore } from './event-store';
import { alertSearchBody, eventAggregateBody, eventSearchBody } from './query';
import { componentTemplates, DEFAULT_LAYOUT, ilmPolicies, indexTemplates } from './templates';
import { FakeCluster } from './testing/fake-cluster.test';

/**
 * Golden files, compared as JSON (prettier may reflow them): CITYSOC_UPDATE_GOLDEN=1 rewrites them after an
 * intended change; run prettier on them and review the diff.
 */
const update = process.env.CITYSOC_UPDATE_GOLDEN === '1';
function golden(name: string, value: unknown): void {
  const file = path.join(__dirname, 'golden', `${name}.json`);
  if (update || !existsSync(file)) writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  expect(JSON.parse(JSON.stringify(value))).toEqual(JSON.parse(readFileSync(file, 'utf8')));
}

describe('Elasticsearch templates and policies', () => {
  it.each([
    ['ilm-policies', () => ilmPolicies(DEFAULT_LAYOUT.retention)],
    ['component-templates', () => componentTemplates()],
    ['index-templates', () => indexTemplates(DEFAULT_LAYOUT)],
    [
      'event-search',
      () =>
        eventSearchBody({
          from: '2026-11-27T00:00:00Z',
          to: '2026-11-28T00:00:00Z',
          text: 'failed password',
          fields: { 'source.ip': '10.0.0.9' },
          limit: 50,
        }),
    ],
    [
      'event-search-scoped',
      () => eventSearchBody({ scope: 'hanoi/ba-dinh', fields: { 'event.dataset': 'flow' }, limit: 50 }),
    ],
    ['alert-search-scoped', () => alertSearchBody({ scope: 'hanoi/ba-dinh', level: 'high', limit: 20 })],
  ])('%s match the golden file', (name, body) => golden(name, body()));

  it('retention days reach the delete phase of each class', () => {
    const p = ilmPolicies({ syslogDays: 7, flowDays: 3, alertsDays: 400, drillDays: 1, warmAfterDays: 2 });
    const del = (n: string) => (p[n]?.policy.phases['delete'] as { min_age: string }).min_age;
    expect([del('citysoc-syslog'), del('citysoc-flow'), del('citysoc-alerts'), del('citysoc-drill')]).toEqual(
      ['7d', '3d', '400d', '1d'],
    );
    // Warm never comes after delete.
    expect((p['citysoc-drill']?.policy.phases['warm'] as { min_age: string }).min_age).toBe('1d');
  });

  it('refuses namespaces that would break the data stream naming scheme', () => {
    const client = new FakeCluster().client();
    expect(
      () => new ElasticsearchEventStore(client, { layout: { ...DEFAULT_LAYOUT, namespace: 'Prod-1' } }),
    ).toThrow(/namespace/);
    expect(
      () => new ElasticsearchEventStore(client, { layout: { ...DEFAULT_LAYOUT, drillNamespace: 'default' } }),
    ).toThrow(/differ/);
  });
});

describe('ElasticsearchEventStore requests', () => {
  let fake: FakeCluster;
  let sleeps: number[];
  const open = (bulk = {}) => {
    sleeps = [];
    return new ElasticsearchEventStore(fake.client(), {
      bulk,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
  };
  beforeEach(() => {
    fake = new FakeCluster();
  });

  it('installs policies, then component templates, then index templates, once, before the first write', async () => {
    const store = open();
    await store.insertEvents([contractEvent('e1', '2026-11-27T01:00:00.000Z', 'hello')]);
    await store.insertEvents([contractEvent('e2', '2026-11-27T01:00:01.000Z', 'hello')]);
    expect(fake.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([
      '/_ilm/policy/citysoc-syslog',
      '/_ilm/policy/citysoc-flow',
      '/_ilm/policy/citysoc-alerts',
      '/_ilm/policy/citysoc-drill',
      '/_component_template/citysoc@settings',
      '/_component_template/citysoc-events@mappings',
      '/_component_template/citysoc-alerts@mappings',
      '/_index_template/citysoc-syslog',
      '/_index_template/citysoc-syslog-drill',
      '/_index_template/citysoc-flow',
      '/_index_template/citysoc-flow-drill',
      '/_index_template/citysoc-alerts',
      '/_index_template/citysoc-alerts-drill',
    ]);
    expect(fake.requestsTo('PUT', '/_index_template/citysoc-syslog')[0]?.body).toEqual(
      indexTemplates(DEFAULT_LAYOUT)['citysoc-syslog'],
    );
    expect(fake.requestsTo('PUT', '/_ilm/policy/citysoc-flow')[0]?.body).toEqual(
      ilmPolicies(DEFAULT_LAYOUT.retention)['citysoc-flow'],
    );
    await store.close();
  });

  it('bulk-creates with the deterministic id into the data stream of the class and namespace', async () => {
    const store = open({ refresh: 'wait_for' });
    const syslog = contractEvent('s1', '2026-11-27T01:00:00.000Z', 'sshd: Failed password');
    const flow = {
      ...contractEvent('f1', '2026-11-27T01:00:00.000Z', ''),
      event: { id: 'f1', created: 'x', dataset: 'flow', module: 'netflow' },
    };
    const drill = contractEvent('d1', '2026-11-27T01:00:00.000Z', 'drill', { tags: ['drill'] });
    await store.insertEvents([syslog, flow, drill]);
    await store.insertAlerts([contractAlert('a1', '2026-11-27T01:00:00.000Z')]);
    const bulks = fake.requestsTo('POST', '/_bulk');
    expect(bulks).toHaveLength(2);
    expect(bulks[0]?.querystring).toEqual({ refresh: 'wait_for' });
    const body = bulks[0]?.body as Array<Record<string, unknown>>;
    expect(body.filter((_, i) => i % 2 === 0)).toEqual([
      { create: { _index: 'logs-citysoc.syslog-default', _id: 's1' } },
      { create: { _index: 'logs-citysoc.flow-default', _id: 'f1' } },
      { create: { _index: 'logs-citysoc.syslog-drill', _id: 'd1' } },
    ]);
    expect(body[1]).toMatchObject({ ...syslog, event: { ...syslog.event, ingested: expect.any(String) } });
    expect((bulks[1]?.body as unknown[])[0]).toEqual({
      create: { _index: 'logs-citysoc.alerts-default', _id: 'a1' },
    });
    await store.close();
  });

  it('counts a 409 version conflict as already stored', async () => {
    const store = open();
    const e = contractEvent('dup', '2026-11-27T01:00:00.000Z', 'x');
    expect(await store.writeEvents([e])).toEqual({ inserted: 1, duplicates: 0, rejected: [] });
    expect(await store.writeEvents([e, e])).toEqual({ inserted: 0, duplicates: 2, rejected: [] });
    expect(store.bulkStats).toMatchObject({ created: 1, duplicates: 2, rejected: 0, retries: 0 });
    await store.close();
  });

  it('returns per-item failures with the original document and a reason, and stores the rest', async () => {
    const store = open();
    fake.itemFault = ({ id }) =>
      id === 'bad'
        ? { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse field [source.port]' }
        : undefined;
    const bad = contractEvent('bad', '2026-11-27T01:00:00.000Z', 'weird', { source: { port: 1 } });
    const good = contractEvent('good', '2026-11-27T01:00:01.000Z', 'fine');
    const r = await store.writeEvents([bad, good]);
    expect(r.inserted).toBe(1);
    expect(r.rejected).toEqual([
      {
        id: 'bad',
        item: bad,
        status: 400,
        reason: 'mapper_parsing_exception: failed to parse field [source.port]',
      },
    ]);
    expect(fake.allDocs().map((d) => d.id)).toEqual(['good']);
    expect(store.bulkStats.rejected).toBe(1);
    // The count-only port method refuses to hide the rejection.
    await expect(store.insertEvents([bad])).rejects.toThrow(/rejected 1 documents/);
    await store.close();
  });

  it('retries a whole-request 429 and 503 with growing backoff, then succeeds', async () => {
    const store = open({ baseBackoffMs: 100 });
    await store.install();
    fake.bulkStatusQueue = [429, 503];
    expect(await store.insertEvents([contractEvent('r1', '2026-11-27T01:00:00.000Z', 'x')])).toBe(1);
    expect(sleeps).toEqual([100, 200]);
    expect(fake.requestsTo('POST', '/_bulk')).toHaveLength(3);
    expect(store.bulkStats.retries).toBe(2);
    await store.close();
  });

  it('retries only the items rejected with 429, not those already created', async () => {
    const store = open({ baseBackoffMs: 10 });
    fake.itemFault = ({ id }, attempt) =>
      id === 'busy' && attempt === 0
        ? { status: 429, type: 'es_rejected_execution_exception', reason: 'queue full' }
        : undefined;
    const r = await store.writeEvents([
      contractEvent('ok', '2026-11-27T01:00:00.000Z', 'x'),
      contractEvent('busy', '2026-11-27T01:00:01.000Z', 'y'),
    ]);
    expect(r).toEqual({ inserted: 2, duplicates: 0, rejected: [] });
    const bulks = fake.requestsTo('POST', '/_bulk');
    expect(
      bulks.map((b) =>
        (b.body as Array<{ create?: { _id: string } }>).flatMap((l) => (l.create ? [l.create._id] : [])),
      ),
    ).toEqual([['ok', 'busy'], ['busy']]);
    expect(sleeps).toEqual([10]);
    await store.close();
  });

  it('gives up after the configured attempts with a retryable error, so the bus redelivers the batch', async () => {
    const store = open({ maxAttempts: 3, baseBackoffMs: 1 });
    await store.install();
    fake.bulkStatusQueue = [429, 429, 429, 429];
    await expect(
      store.insertEvents([contractEvent('x', '2026-11-27T01:00:00.000Z', 'x')]),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(fake.requestsTo('POST', '/_bulk')).toHaveLength(3);
    await store.close();
  });

  it('does not retry a non-retryable request error', async () => {
    const store = open();
    await store.install();
    fake.mock.clear({ method: 'POST', path: '/_bulk' });
    fake.mock.add(
      { method: 'POST', path: '/_bulk' },
      () =>
        new errors.ResponseError({
          body: { error: { type: 'security_exception' }, status: 401 },
          statusCode: 401,
          warnings: null,
          meta: {} as never,
        }) as never,
    );
    await expect(store.insertEvents([contractEvent('x', '2026-11-27T01:00:00.000Z', 'x')])).rejects.toThrow(
      /security_exception/,
    );
    expect(sleeps).toEqual([]);
    await store.close();
  });

  it('splits large writes into bulk requests of at most maxDocs', async () => {
    const store = open({ maxDocs: 2 });
    const events = Array.from({ length: 5 }, (_, i) =>
      contractEvent(`b${i}`, '2026-11-27T01:00:00.000Z', 'x'),
    );
    expect(await store.insertEvents(events)).toBe(5);
    expect(fake.requestsTo('POST', '/_bulk').map((b) => (b.body as unknown[]).length)).toEqual([4, 4, 2]);
    await store.close();
  });

  it('searches with range, term, simple_query_string, a tiebreaker sort and search_after', async () => {
    const store = open();
    await store.insertEvents(
      Array.from({ length: 3 }, (_, i) => contractEvent(`s${i}`, '2026-11-27T01:00:00.000Z', 'failed login')),
    );
    const p1 = await store.searchEvents({ text: 'failed', fields: { 'event.dataset': 'syslog' }, limit: 2 });
    const p2 = await store.searchEvents({
      text: 'failed',
      fields: { 'event.dataset': 'syslog' },
      limit: 2,
      after: p1.next,
    });
    const searches = fake.requestsTo('POST', '/logs-citysoc.syslog-*,logs-citysoc.flow-*/_search');
    expect(searches).toHaveLength(2);
    expect(searches[0]?.querystring).toEqual({ ignore_unavailable: 'true', allow_no_indices: 'true' });
    expect(searches[1]?.body).toEqual({
      query: {
        bool: {
          filter: [{ term: { 'event.dataset': 'syslog' } }],
          must: [
            {
              simple_query_string: {
                query: 'failed',
                fields: ['message'],
                default_operator: 'and',
                flags: 'NONE',
              },
            },
          ],
        },
      },
      sort: [
        { '@timestamp': { order: 'desc', format: 'strict_date_optional_time_nanos' } },
        { 'event.id': { order: 'desc' } },
      ],
      size: 3,
      track_total_hits: 10000,
      search_after: ['2026-11-27T01:00:00.000Z', 's1'],
    });
    expect([...p1.items, ...p2.items].map((e) => e.event.id)).toEqual(['s2', 's1', 's0']);
    expect(p1.total).toBe(3);
    await store.close();
  });

  it('reports data streams with health, lifecycle, size and write counters; the worst health wins', async () => {
    const store = open();
    await store.insertEvents([
      contractEvent('h1', '2026-11-27T01:00:00.000Z', 'x'),
      contractEvent('h2', '2026-11-27T01:00:00.000Z', 'y', { tags: ['drill'] }),
    ]);
    fake.health.set('logs-citysoc.syslog-drill', 'yellow');
    const info = await store.storageInfo();
    expect(info).toMatchObject({
      engine: 'elasticsearch',
      status: 'yellow',
      events: 2,
      alerts: 0,
      writes: { requests: 1, created: 2, duplicates: 0, rejected: 0, retries: 0 },
    });
    expect(info.dataStreams?.map((d) => [d.name, d.status, d.template, d.ilmPolicy])).toEqual([
      ['logs-citysoc.syslog-default', 'green', 'citysoc-syslog', 'citysoc-syslog'],
      ['logs-citysoc.syslog-drill', 'yellow', 'citysoc-syslog-drill', 'citysoc-drill'],
    ]);
    expect(
      fake
        .requestsTo('GET', '/_data_stream/')
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/_data_stream/logs-citysoc.*', '/_data_stream/logs-citysoc.*/_stats']);
    expect(fake.requestsTo('GET', '/logs-citysoc.*/').map((r) => r.path)).toEqual([
      '/logs-citysoc.*/_ilm/explain',
      '/logs-citysoc.*/_stats/docs',
    ]);
    expect(info.dataStreams?.map((d) => [d.name, d.docs, d.ilmPhase, d.phases, d.lastRolloverAt])).toEqual([
      ['logs-citysoc.syslog-default', 1, 'hot', { hot: 1 }, undefined],
      ['logs-citysoc.syslog-drill', 1, 'hot', { hot: 1 }, undefined],
    ]);
    expect(info.errors).toEqual(['data stream logs-citysoc.syslog-drill is yellow']);
    await store.close();
  });

  it("shows each stream's lifecycle: phases, the last rollover, ILM errors and the last failed write", async () => {
    const store = open();
    await store.insertEvents([contractEvent('r1', '2026-11-27T01:00:00.000Z', 'x')]);
    const ds = 'logs-citysoc.syslog-default';
    fake.generations.set(ds, 3);
    fake.ilm.set(`.ds-${ds}-000001`, { phase: 'delete', step: 'wait-for-shard-history-leases' });
    fake.ilm.set(`.ds-${ds}-000002`, {
      phase: 'warm',
      step: 'ERROR',
      failedStep: 'forcemerge',
      reason: 'index is read-only',
    });
    fake.ilm.set(`.ds-${ds}-000003`, { phase: 'hot', createdAt: '2026-11-27T12:00:00.000Z' });
    fake.bulkStatusQueue.push(401);
    await expect(
      store.insertEvents([contractEvent('r2', '2026-11-27T01:00:00.000Z', 'y')]),
    ).rejects.toThrow();
    const info = await store.storageInfo();
    expect(info.dataStreams).toEqual([
      {
        name: ds,
        status: 'green',
        backingIndices: 3,
        template: 'citysoc-syslog',
        ilmPolicy: 'citysoc-syslog',
        bytes: expect.any(Number),
        docs: 1,
        writeIndex: `.ds-${ds}-000003`,
        lastRolloverAt: '2026-11-27T12:00:00.000Z',
        ilmPhase: 'hot',
        phases: { delete: 1, warm: 1, hot: 1 },
        ilmErrors: [{ index: `.ds-${ds}-000002`, failedStep: 'forcemerge', reason: 'index is read-only' }],
      },
    ]);
    expect(info.writes?.lastFailure?.message).toMatch(/^401 /);
    expect(info.errors).toEqual([
      `ILM error on .ds-${ds}-000002 at forcemerge: index is read-only`,
      expect.stringMatching(/^last write failure at \d{4}-.*: 401 /),
    ]);
    await store.close();
  });

  it('still answers when the key may not read lifecycles or index stats, and says why', async () => {
    const store = open();
    await store.insertEvents([contractEvent('f1', '2026-11-27T01:00:00.000Z', 'x')]);
    fake.forbidden.add('ilm');
    fake.forbidden.add('stats');
    const info = await store.storageInfo();
    expect(info).toMatchObject({ status: 'green', events: 1 });
    expect(info.dataStreams?.[0]).not.toHaveProperty('phases');
    expect(info.dataStreams?.[0]).not.toHaveProperty('docs');
    expect(info.errors).toEqual([
      expect.stringMatching(/^ILM explain unavailable: .*security_exception/),
      expect.stringMatching(/^document counts unavailable: .*security_exception/),
    ]);
    await store.close();
  });
});

describe('Elasticsearch hunt aggregates', () => {
  it('asks for an epoch-aligned fixed histogram and one terms aggregation per field', () => {
    const body = eventAggregateBody({
      from: '2026-11-27T00:00:00Z',
      fields: { 'source.ip': '10.0.0.9' },
      text: 'failed',
      intervalMs: 60_000,
      top: ['source.ip', 'event.dataset'],
      topN: 5,
    });
    expect(body.size).toBe(0);
    expect(body.aggs).toEqual({
      histogram: { date_histogram: { field: '@timestamp', fixed_interval: '60000ms', min_doc_count: 1 } },
      top_0: { terms: { field: 'source.ip', size: 5 } },
      top_1: { terms: { field: 'event.dataset', size: 5 } },
    });
    expect(body.query.bool.filter).toContainEqual({ term: { 'source.ip': '10.0.0.9' } });
    expect(() => eventAggregateBody({ intervalMs: 60_000, top: ['a b'] })).toThrow(/invalid field name/);
  });
});
