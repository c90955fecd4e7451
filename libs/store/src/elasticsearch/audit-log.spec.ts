import { errors } from '@elastic/elasticsearch';
import { AUDIT_GENESIS, entryHash } from '../sqlite/audit-log';
import { AuditContentionError, ElasticsearchAuditLog, auditIndexTemplate } from './audit-log';
import { FakeCluster } from './testing/fake-cluster.test';

const entry = { actor: 'alice', action: 'incident.close', target: 'incident/7', outcome: 'success' as const };
const fixedNow = () => new Date('2026-11-27T10:00:00.000Z');

function setup(o: { maxAttempts?: number } = {}) {
  const fake = new FakeCluster();
  const client = fake.client();
  const log = new ElasticsearchAuditLog(client, { now: fixedNow, ...o });
  return { fake, client, log };
}

const writes = (fake: FakeCluster) =>
  fake.requests
    .filter((r) => r.method !== 'HEAD')
    .map(
      (r) =>
        `${r.method} ${r.path}${Object.keys(r.querystring).length ? '?' + new URLSearchParams(r.querystring as Record<string, string>).toString() : ''}`,
    );

describe('ElasticsearchAuditLog: exact requests', () => {
  it('installs one index template for the entries and the head, with detail kept but not mapped', async () => {
    const { fake, log } = setup();
    await log.install();
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /_index_template/citysoc-audit']);
    expect(fake.indexTemplates.get('citysoc-audit')).toEqual(
      auditIndexTemplate('citysoc-audit', 'citysoc-audit-head'),
    );
    const mappings = (auditIndexTemplate('a', 'b')['template'] as { mappings: Record<string, unknown> })
      .mappings;
    expect(mappings['dynamic']).toBe('strict');
    expect((mappings['properties'] as Record<string, unknown>)['detail']).toEqual({
      type: 'object',
      enabled: false,
    });
  });

  it('first append: read the head (absent), create entry 1, create the head', async () => {
    const { fake, log } = setup();
    const e = await log.append(entry);
    expect(writes(fake)).toEqual([
      'GET /citysoc-audit-head/_doc/head',
      'PUT /citysoc-audit/_doc/1?op_type=create',
      'PUT /citysoc-audit-head/_doc/head?op_type=create',
    ]);
    expect(fake.requests[1]?.body).toEqual({
      ...e,
      at: '2026-11-27T10:00:00.000Z',
      prev_hash: AUDIT_GENESIS,
      seq: 1,
    });
    expect(fake.requests[2]?.body).toEqual({ seq: 1, hash: e.hash });
  });

  it('next append moves the head with if_seq_no/if_primary_term from the read', async () => {
    const { fake, log } = setup();
    const a = await log.append(entry);
    const headSeqNo = fake.indices.get('citysoc-audit-head')?.get('head')?.seqNo;
    fake.requests.length = 0;
    const b = await log.append({ ...entry, detail: { reason: 'fp' } });
    expect(writes(fake)).toEqual([
      'GET /citysoc-audit-head/_doc/head',
      'PUT /citysoc-audit/_doc/2?op_type=create',
      `PUT /citysoc-audit-head/_doc/head?if_seq_no=${headSeqNo}&if_primary_term=1`,
    ]);
    expect(b.prev_hash).toBe(a.hash);
    expect(fake.requests[2]?.body).toEqual({ seq: 2, hash: b.hash });
  });

  it('reads with _mget by id (real-time), not a search that would wait for a refresh', async () => {
    const { fake, log } = setup();
    await log.append(entry);
    await log.append(entry);
    fake.requests.length = 0;
    await log.list(10);
    expect(writes(fake)).toEqual([
      'GET /citysoc-audit-head/_doc/head',
      'POST /citysoc-audit/_mget',
      'POST /citysoc-audit/_mget',
    ]);
    expect(fake.requests[1]?.body).toEqual({ ids: ['3'] });
    expect(fake.requests[2]?.body).toEqual({ ids: ['2', '1'] });
  });
});

describe('ElasticsearchAuditLog: concurrency and crashes', () => {
  it('a writer that lost the race for entry N (409 on create) helps move the head and appends N+1', async () => {
    const { fake, log } = setup();
    const first = await log.append(entry);
    fake.requests.length = 0;
    fake.beforeWrite = (index, id) => {
      // Just before our create of entry 2, another writer creates entry 2 (its head move still to come).
      if (index === 'citysoc-audit' && id === '2') {
        fake.beforeWrite = undefined;
        const base = {
          seq: 2,
          at: fixedNow().toISOString(),
          ...entry,
          actor: 'bob',
          detail: {},
          prev_hash: first.hash,
        };
        fake.indices
          .get(index)
          ?.set(id, { doc: { ...base, hash: entryHash(base) }, seqNo: 500, primaryTerm: 1 });
      }
      return undefined;
    };
    const mine = await log.append({ ...entry, actor: 'carol' });
    expect(mine.seq).toBe(3);
    expect(log.conflicts).toBe(1);
    expect(writes(fake)).toEqual([
      'GET /citysoc-audit-head/_doc/head',
      'PUT /citysoc-audit/_doc/2?op_type=create',
      'POST /citysoc-audit/_mget',
      'PUT /citysoc-audit-head/_doc/head?if_seq_no=1&if_primary_term=1',
      'GET /citysoc-audit-head/_doc/head',
      'PUT /citysoc-audit/_doc/3?op_type=create',
      'PUT /citysoc-audit-head/_doc/head?if_seq_no=2&if_primary_term=1',
    ]);
    expect((await log.list()).map((e) => [e.seq, e.actor])).toEqual([
      [3, 'carol'],
      [2, 'bob'],
      [1, 'alice'],
    ]);
    expect(await log.verify()).toEqual({ ok: true, entries: 3 });
  });

  it('a head moved between read and write answers 409 and the append retries from a fresh read', async () => {
    const { fake, client, log } = setup();
    await log.append(entry);
    const head = fake.indices.get('citysoc-audit-head')?.get('head');
    let bumped = false;
    fake.beforeWrite = (index) => {
      if (!bumped && index === 'citysoc-audit-head' && head) {
        // Another process rewrote the head with the same content: only its _seq_no changed.
        bumped = true;
        fake.indices.get(index)?.set('head', { ...head, seqNo: head.seqNo + 1000 });
      }
    };
    const e = await log.append(entry);
    expect(bumped).toBe(true);
    expect(e.seq).toBe(2);
    expect(log.conflicts).toBe(1);
    expect(
      fake.requests.filter((r) => r.path === '/citysoc-audit-head/_doc/head' && r.method === 'PUT'),
    ).toHaveLength(2);
    // Our entry 2 stands; the head was left to whoever moved it, and the next append carries on.
    expect((await log.append(entry)).seq).toBe(3);
    expect(await new ElasticsearchAuditLog(client).verify()).toEqual({ ok: true, entries: 3 });
  });

  it('a writer that died after creating its entry but before moving the head loses nothing', async () => {
    const { fake, client, log } = setup();
    await log.append(entry);
    // Simulate the crash: the next head write fails, the entry is already stored.
    fake.beforeWrite = (index) => {
      if (index === 'citysoc-audit-head') {
        fake.beforeWrite = undefined;
        return new errors.ConnectionError('socket hang up');
      }
      return undefined;
    };
    await expect(log.append({ ...entry, actor: 'dying' })).rejects.toThrow();
    expect(fake.indices.get('citysoc-audit-head')?.get('head')?.doc).toMatchObject({ seq: 1 });
    expect((await log.list()).map((e) => e.actor)).toEqual(['dying', 'alice']);
    expect(await log.verify()).toEqual({ ok: true, entries: 2 });
    const next = await new ElasticsearchAuditLog(client).append({ ...entry, actor: 'next' });
    expect(next.seq).toBe(3);
    expect(fake.indices.get('citysoc-audit-head')?.get('head')?.doc).toEqual({ seq: 3, hash: next.hash });
    expect(await log.verify()).toEqual({ ok: true, entries: 3 });
  });

  it('gives up with a clear error after maxAttempts conflicts', async () => {
    const { fake, log } = setup({ maxAttempts: 3 });
    await log.append(entry);
    fake.beforeWrite = (index, id) => {
      // Someone always creates the entry we are about to create.
      if (index === 'citysoc-audit' && id !== 'head')
        fake.indices
          .get(index)
          ?.set(id, { doc: { seq: Number(id), hash: 'x' }, seqNo: 9999, primaryTerm: 1 });
    };
    await expect(log.append(entry)).rejects.toBeInstanceOf(AuditContentionError);
  });

  it('detects a deleted last entry, which the head still names', async () => {
    const { client, log } = setup();
    for (let i = 0; i < 3; i++) await log.append(entry);
    await client.delete({ index: log.index, id: '3' });
    expect(await log.verify()).toEqual({ ok: false, entries: 2, brokenAt: 3 });
  });

  it('propagates errors other than 409 (e.g. 403) without retrying', async () => {
    const { fake, log } = setup();
    fake.beforeWrite = () =>
      new errors.ResponseError({
        body: { error: { type: 'security_exception' }, status: 403 },
        statusCode: 403,
        warnings: null,
        meta: {} as never,
      });
    await expect(log.append(entry)).rejects.toMatchObject({ statusCode: 403 });
    expect(fake.requestsTo('PUT', '/citysoc-audit/')).toHaveLength(1);
  });
});
