import {
  type StixObject,
  TaxiiClient,
  TaxiiError,
  buildIncidentBundle,
  isRetryable,
  objectVersion,
} from '@citysoc/stix';
import { REPORTER, incident, reportInput } from '../../libs/stix/src/testing/fixtures';
import { TaxiiTestServer } from './server';

const COLL = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';
const NATIONAL = 'e4b1c7d2-0000-4000-8000-00000000000a';

function bundle(updatedAt?: string): StixObject[] {
  const r = buildIncidentBundle(
    reportInput(updatedAt ? { incident: incident({ updated_at: updatedAt }) } : {}),
    { documentationRangesInternal: false },
    { reporter: REPORTER },
  );
  if (!r.report) throw new Error('expected a bundle');
  return r.bundle.objects;
}

/** Polling never waits on a clock in tests: the sleep only counts. */
function client(s: TaxiiTestServer, over: Partial<ConstructorParameters<typeof TaxiiClient>[0]> = {}) {
  const sleeps: number[] = [];
  const c = new TaxiiClient({
    apiRootUrl: s.apiRootUrl,
    user: 'reporter',
    password: 'secret',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...over,
  });
  return { c, sleeps };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return err instanceof TaxiiError ? err.code : `not a TaxiiError: ${String(err)}`;
  }
}

describe('TaxiiClient against the test server', () => {
  let s: TaxiiTestServer;
  afterEach(() => s.close());

  it('discovers the server, reads the API root and lists collections', async () => {
    s = await TaxiiTestServer.start();
    const { c } = client(s);
    expect(await c.discover()).toMatchObject({ api_roots: [s.apiRootUrl] });
    expect(await c.apiRoot()).toMatchObject({ max_content_length: 1_048_576 });
    expect((await c.collections()).map((x) => x.id)).toEqual([COLL]);
  });

  it('delivers a whole incident bundle; a re-send and an update keep the same ids', async () => {
    s = await TaxiiTestServer.start();
    const { c } = client(s);
    const v1 = bundle();
    const r1 = await c.addObjects(COLL, v1);
    expect(r1).toMatchObject({ total: v1.length, envelopes: 1, failures: [], alreadyPresent: [] });
    expect(r1.successes).toHaveLength(v1.length);

    const again = await c.addObjects(COLL, v1);
    expect(again.failures).toEqual([]);
    expect(again.successes).toHaveLength(v1.length);
    expect(s.stored(COLL)).toHaveLength(v1.length);

    const v2 = bundle('2026-11-27T10:00:00.000Z');
    await c.addObjects(COLL, v2);
    const ids = new Set(s.stored(COLL).map((o) => o.id));
    expect(ids).toEqual(new Set(v1.map((o) => o.id)));
    const incidentId = v1.find((o) => o.type === 'incident')!.id;
    expect(
      s
        .stored(COLL)
        .filter((o) => o.id === incidentId)
        .map((o) => o.version),
    ).toEqual(['2026-11-27T08:05:00.000Z', '2026-11-27T10:00:00.000Z']);
  });

  it("splits envelopes to respect the server's max_content_length", async () => {
    s = await TaxiiTestServer.start({ maxContentLength: 2500 });
    const { c } = client(s);
    const objs = bundle();
    const r = await c.addObjects(COLL, objs);
    expect(r.envelopes).toBeGreaterThan(3);
    expect(r.failures).toEqual([]);
    const posts = s.requests.filter((q) => q.method === 'POST');
    expect(posts).toHaveLength(r.envelopes);
    for (const p of posts) {
      expect(p.status).toBe(202);
      expect(p.bodyBytes).toBeLessThanOrEqual(2500);
    }
    expect(s.stored(COLL)).toHaveLength(objs.length);
  });

  it('refuses locally an object larger than the server accepts', async () => {
    s = await TaxiiTestServer.start({ maxContentLength: 300 });
    const { c } = client(s);
    expect(await codeOf(c.addObjects(COLL, bundle()))).toBe('object_too_large');
    expect(s.requests.filter((q) => q.method === 'POST')).toEqual([]);
  });

  it('polls a pending status until complete', async () => {
    s = await TaxiiTestServer.start({ pendingPolls: 3 });
    const { c, sleeps } = client(s, { pollIntervalMs: 250 });
    const r = await c.addObjects(COLL, bundle());
    expect(r.failures).toEqual([]);
    expect(sleeps).toEqual([250, 250, 250]);
    expect(s.requests.filter((q) => q.path.includes('/status/'))).toHaveLength(3);
  });

  it('gives up polling with a retryable status_incomplete', async () => {
    s = await TaxiiTestServer.start({ pendingPolls: 10 });
    const { c } = client(s, { maxPolls: 2 });
    const err = await c.addObjects(COLL, bundle()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'status_incomplete' });
    expect(isRetryable(err)).toBe(true);
  });

  it.each([
    ['readable collection (checks by GET)', true],
    ['write-only collection (trusts the message)', false],
  ])('counts a duplicate reported as a failure (medallion) as success: %s', async (_n, canRead) => {
    s = await TaxiiTestServer.start({
      duplicates: 'failure',
      collections: [{ id: COLL, title: 'x', can_read: canRead, can_write: true }],
    });
    const { c } = client(s);
    const objs = bundle();
    await c.addObjects(COLL, objs);
    const r = await c.addObjects(COLL, objs);
    expect(r.failures).toEqual([]);
    expect(r.alreadyPresent).toHaveLength(objs.length);
    expect(r.successes).toHaveLength(objs.length);
  });

  it('returns real per-object failures', async () => {
    s = await TaxiiTestServer.start();
    const { c } = client(s);
    const r = await c.addObjects(COLL, [
      { type: 'indicator', id: 'indicator--nope' },
      ...bundle().slice(0, 2),
    ]);
    expect(r.failures).toEqual([expect.objectContaining({ id: 'indicator--nope' })]);
    expect(r.successes).toHaveLength(2);
  });

  it.each([
    ['bad password', 401, 'unauthorized', false],
    ['server error', 500, 'server_error', true],
    ['bad gateway', 502, 'server_error', true],
    ['rate limit', 429, 'rate_limited', true],
    ['oversize', 413, 'payload_too_large', false],
    ['media type', 415, 'unsupported_media_type', false],
    ['forbidden', 403, 'forbidden', false],
  ])('an HTTP failure (%s, %i) surfaces as %s, retryable %s', async (_n, status, code, retry) => {
    s = await TaxiiTestServer.start();
    const { c } = client(s);
    s.failNext(status, { method: 'POST', headers: status === 429 ? { 'Retry-After': '3' } : {} });
    const err = await c.addObjects(COLL, bundle()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaxiiError);
    expect(err).toMatchObject({ code, httpStatus: status });
    expect(isRetryable(err)).toBe(retry);
    if (status === 429) expect(err).toMatchObject({ retryAfterMs: 3000 });
  });

  it('real rejections from the server map to stable, non-retryable codes', async () => {
    s = await TaxiiTestServer.start({
      collections: [
        { id: COLL, title: 'x', can_read: true, can_write: true },
        { id: NATIONAL, title: 'ro', can_read: true, can_write: false },
      ],
    });
    expect(await codeOf(client(s, { password: 'wrong' }).c.apiRoot())).toBe('unauthorized');
    expect(await codeOf(client(s, { user: undefined }).c.apiRoot())).toBe('unauthorized');
    expect(await codeOf(client(s).c.collection('00000000-0000-4000-8000-000000000000'))).toBe('not_found');
    expect(await codeOf(client(s).c.addObjects(NATIONAL, bundle()))).toBe('not_writable');
    expect(
      await codeOf(client(s, { apiRootUrl: s.apiRootUrl.replace('/api1/', '/api9/') }).c.apiRoot()),
    ).toBe('not_found');
  });

  it('a server that is down is a retryable network error', async () => {
    s = await TaxiiTestServer.start();
    const url = s.apiRootUrl;
    await s.close();
    const err = await new TaxiiClient({ apiRootUrl: url, user: 'reporter', password: 'secret' })
      .apiRoot()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_error' });
    expect(isRetryable(err)).toBe(true);
  });

  it('pulls a collection page by page, then only what was added after', async () => {
    s = await TaxiiTestServer.start({ pageSize: 4 });
    const { c } = client(s);
    const objs = bundle();
    await c.addObjects(COLL, objs);
    const pages: StixObject[][] = [];
    for await (const page of c.pullObjects(COLL)) pages.push(page);
    expect(pages.length).toBe(Math.ceil(objs.length / 4));
    expect(
      pages
        .flat()
        .map((o) => o.id)
        .sort(),
    ).toEqual(objs.map((o) => o.id).sort());

    const first = await c.getObjects(COLL, { types: ['indicator'] });
    expect(first.objects?.every((o) => o.type === 'indicator')).toBe(true);
    const mark = (await c.getObjects(COLL, { limit: 1000 })).dateAddedLast!;
    const v2 = bundle('2026-11-27T11:00:00.000Z');
    await c.addObjects(COLL, v2);
    const later = (await c.getObjects(COLL, { addedAfter: mark, limit: 1000 })).objects ?? [];
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((o) => objectVersion(o) === '2026-11-27T11:00:00.000Z')).toBe(true);
  });
});
