import http from 'node:http';
import { TAXII_MEDIA_TYPE, TaxiiTestServer } from './server';

/** Raw HTTP, so the server's own behaviour is tested, not the client's. */
function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          json: text ? JSON.parse(text) : undefined,
        });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const AUTH = `Basic ${Buffer.from('reporter:secret').toString('base64')}`;
const H = { Accept: TAXII_MEDIA_TYPE, Authorization: AUTH };
const POST_H = { ...H, 'Content-Type': TAXII_MEDIA_TYPE };
const COLL = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';
const RO = 'c1a2b3c4-0000-4000-8000-000000000001';

const ind = (n: number, modified = '2026-11-27T08:00:00.000Z'): Record<string, unknown> => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  created: '2026-11-27T08:00:00.000Z',
  modified,
  pattern: "[ipv4-addr:value = '203.0.113.1']",
  pattern_type: 'stix',
  valid_from: '2026-11-27T08:00:00Z',
});

describe('TAXII 2.1 test server', () => {
  let s: TaxiiTestServer;
  beforeEach(async () => {
    s = await TaxiiTestServer.start({
      maxContentLength: 2000,
      collections: [
        { id: COLL, title: 'rw', can_read: true, can_write: true },
        { id: RO, title: 'read only', can_read: true, can_write: false },
      ],
    });
  });
  afterEach(() => s.close());

  const objectsUrl = (c = COLL): string => `${s.apiRootUrl}collections/${c}/objects/`;

  it('serves discovery, API root and collections with the TAXII media type', async () => {
    const d = await call(s.discoveryUrl, { headers: H });
    expect(d.status).toBe(200);
    expect(d.headers['content-type']).toBe(TAXII_MEDIA_TYPE);
    expect(d.json).toMatchObject({ api_roots: [s.apiRootUrl], default: s.apiRootUrl });
    expect((await call(s.apiRootUrl, { headers: H })).json).toEqual({
      title: 'Test API root',
      versions: [TAXII_MEDIA_TYPE],
      max_content_length: 2000,
    });
    const c = await call(`${s.apiRootUrl}collections/`, { headers: H });
    expect((c.json as { collections: Array<{ id: string }> }).collections.map((x) => x.id)).toEqual([
      COLL,
      RO,
    ]);
    expect((await call(`${s.apiRootUrl}collections/${RO}/`, { headers: H })).json).toMatchObject({
      can_write: false,
    });
  });

  const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  it.each([
    ['no credentials', 401, { Accept: TAXII_MEDIA_TYPE }],
    ['wrong password', 401, { Accept: TAXII_MEDIA_TYPE, Authorization: basic('reporter', 'nope') }],
    ['unknown user', 401, { Accept: TAXII_MEDIA_TYPE, Authorization: basic('x', 'secret') }],
    ['Accept: application/json', 406, { Accept: 'application/json', Authorization: AUTH }],
    ['Accept: TAXII 2.0', 406, { Accept: 'application/taxii+json;version=2.0', Authorization: AUTH }],
    ['no Accept', 406, { Authorization: AUTH }],
    ['Accept: TAXII without version', 200, { Accept: 'application/taxii+json', Authorization: AUTH }],
  ] as const)('GET with %s → %i', async (_n, status, headers) => {
    const r = await call(s.apiRootUrl, { headers });
    expect(r.status).toBe(status);
    if (status === 401) expect(r.headers['www-authenticate']).toMatch(/^Basic/);
    if (status >= 400)
      expect(r.json).toMatchObject({ title: expect.any(String), http_status: String(status) });
  });

  it.each([
    ['unknown API root', 404, (u: string) => u.replace('/api1/', '/nope/')],
    ['unknown collection', 404, (u: string) => u.replace(COLL, '00000000-0000-4000-8000-000000000000')],
    ['unknown status', 404, (u: string) => u.replace(`collections/${COLL}/objects/`, 'status/nope/')],
    ['unknown object', 404, (u: string) => `${u}indicator--00000000-0000-4000-8000-000000000999/`],
  ] as const)('%s → %i', async (_n, status, f) => {
    expect((await call(f(objectsUrl()), { headers: H })).status).toBe(status);
  });

  it.each([
    ['Content-Type application/json', 415, { ...H, 'Content-Type': 'application/json' }],
    ['Content-Type STIX bundle', 415, { ...H, 'Content-Type': 'application/stix+json;version=2.1' }],
    ['no Content-Type', 415, H],
  ] as const)('POST with %s → %i and nothing stored', async (_n, status, headers) => {
    const r = await call(objectsUrl(), {
      method: 'POST',
      headers,
      body: JSON.stringify({ objects: [ind(1)] }),
    });
    expect(r.status).toBe(status);
    expect(s.stored(COLL)).toEqual([]);
  });

  it('POST over max_content_length → 413, at the limit → 202', async () => {
    const big = { objects: [{ ...ind(1), description: 'x'.repeat(3000) }] };
    expect(
      (await call(objectsUrl(), { method: 'POST', headers: POST_H, body: JSON.stringify(big) })).status,
    ).toBe(413);
    const base = JSON.stringify({ objects: [{ ...ind(1), description: '' }] });
    const exact = JSON.stringify({ objects: [{ ...ind(1), description: 'x'.repeat(2000 - base.length) }] });
    expect(Buffer.byteLength(exact)).toBe(2000);
    expect((await call(objectsUrl(), { method: 'POST', headers: POST_H, body: exact })).status).toBe(202);
  });

  it('POST to a read-only collection → 403; bad JSON → 400; not an envelope → 422; wrong method → 405', async () => {
    const body = JSON.stringify({ objects: [ind(1)] });
    expect((await call(objectsUrl(RO), { method: 'POST', headers: POST_H, body })).status).toBe(403);
    expect((await call(objectsUrl(), { method: 'POST', headers: POST_H, body: '{' })).status).toBe(400);
    expect(
      (await call(objectsUrl(), { method: 'POST', headers: POST_H, body: '{"objects":3}' })).status,
    ).toBe(422);
    expect((await call(s.apiRootUrl, { method: 'POST', headers: POST_H, body })).status).toBe(405);
  });

  it('stores by (id, version): a re-sent version is a success and not stored twice; a new version is added', async () => {
    const post = (objs: unknown[]): ReturnType<typeof call> =>
      call(objectsUrl(), { method: 'POST', headers: POST_H, body: JSON.stringify({ objects: objs }) });
    const first = await post([ind(1), ind(2), { type: 'indicator', id: 'bad' }]);
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({
      status: 'complete',
      total_count: 3,
      success_count: 2,
      failure_count: 1,
    });
    const again = await post([ind(1)]);
    expect(again.json).toMatchObject({
      success_count: 1,
      failure_count: 0,
      successes: [{ message: 'already present' }],
    });
    await post([ind(1, '2026-11-27T09:00:00.000Z')]);
    expect(s.stored(COLL)).toHaveLength(3);

    const id1 = ind(1)['id'] as string;
    const versions = await call(`${objectsUrl()}${id1}/versions/`, { headers: H });
    expect(versions.json).toEqual({
      more: false,
      versions: ['2026-11-27T08:00:00.000Z', '2026-11-27T09:00:00.000Z'],
    });
    const last = await call(`${objectsUrl()}${id1}/`, { headers: H });
    expect((last.json as { objects: Array<{ modified: string }> }).objects.map((o) => o.modified)).toEqual([
      '2026-11-27T09:00:00.000Z',
    ]);
    const all = await call(`${objectsUrl()}?match[version]=all&match[id]=${id1}`, { headers: H });
    expect((all.json as { objects: unknown[] }).objects).toHaveLength(2);
    const status = await call(`${s.apiRootUrl}status/${(first.json as { id: string }).id}/`, { headers: H });
    expect(status.json).toMatchObject({ status: 'complete', success_count: 2 });
  });

  it('reports duplicates as failures in medallion mode', async () => {
    const m = await TaxiiTestServer.start({ duplicates: 'failure' });
    try {
      const url = `${m.apiRootUrl}collections/${COLL}/objects/`;
      const body = JSON.stringify({ objects: [ind(1)] });
      await call(url, { method: 'POST', headers: POST_H, body });
      const r = await call(url, { method: 'POST', headers: POST_H, body });
      expect(r.json).toMatchObject({
        success_count: 0,
        failure_count: 1,
        failures: [{ message: 'Object already exists' }],
      });
    } finally {
      await m.close();
    }
  });

  it('pages with limit/next and filters by type and added_after', async () => {
    const objs = [1, 2, 3, 4, 5].map((n) => ind(n));
    await call(objectsUrl(), { method: 'POST', headers: POST_H, body: JSON.stringify({ objects: objs }) });
    const p1 = await call(`${objectsUrl()}?limit=2`, { headers: H });
    expect(p1.json).toMatchObject({ more: true, next: '2' });
    const p3 = await call(`${objectsUrl()}?limit=2&next=4`, { headers: H });
    expect(p3.json).toMatchObject({ more: false });
    expect((p3.json as { objects: unknown[] }).objects).toHaveLength(1);
    const after = p1.headers['x-taxii-date-added-last'] as string;
    const rest = await call(`${objectsUrl()}?added_after=${encodeURIComponent(after)}`, { headers: H });
    expect((rest.json as { objects: unknown[] }).objects).toHaveLength(3);
    const none = await call(`${objectsUrl()}?match[type]=malware`, { headers: H });
    expect(none.json).toEqual({ more: false });
  });

  it('keeps a status pending for the configured number of polls', async () => {
    const p = await TaxiiTestServer.start({ pendingPolls: 2 });
    try {
      const r = await call(`${p.apiRootUrl}collections/${COLL}/objects/`, {
        method: 'POST',
        headers: POST_H,
        body: JSON.stringify({ objects: [ind(1)] }),
      });
      expect(r.json).toMatchObject({ status: 'pending', pending_count: 1 });
      const url = `${p.apiRootUrl}status/${(r.json as { id: string }).id}/`;
      expect((await call(url, { headers: H })).json).toMatchObject({ status: 'pending' });
      expect((await call(url, { headers: H })).json).toMatchObject({ status: 'complete', success_count: 1 });
    } finally {
      await p.close();
    }
  });
});
