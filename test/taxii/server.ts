import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo } from 'node:net';

/**
 * A small TAXII 2.1 server for tests (OASIS TAXII 2.1 OS, §4–§5): discovery, API root, collections,
 * objects GET/POST, object and versions by id, status. It rejects what the spec rejects — a media type it
 * cannot produce (406) or consume (415), missing or wrong credentials (401), a body over the API root's
 * max_content_length (413), unknown resources (404), reads/writes a collection does not allow (403) — and
 * stores objects by (id, version), so re-sending a version is a no-op. No TAXII server can be installed here.
 */

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';

interface StoredVersion {
  obj: Record<string, unknown>;
  version: string;
  dateAdded: string;
}

export interface TestCollection {
  id: string;
  title: string;
  description?: string;
  can_read: boolean;
  can_write: boolean;
}

export interface TaxiiTestServerOptions {
  /** Basic-auth users; every resource, discovery included, requires one. */
  users?: Record<string, string>;
  maxContentLength?: number;
  collections?: TestCollection[];
  apiRoot?: string;
  /** How many status GETs answer `pending` before `complete` (deterministic stand-in for slow servers). */
  pendingPolls?: number;
  /** A version the server already holds: success (the spec's intent) or a failure entry (medallion). */
  duplicates?: 'success' | 'failure';
  /** Page size for GET objects when the client gives no `limit`. */
  pageSize?: number;
  /** Serve HTTPS; with `ca` set, client certificates signed by it are required (mutual TLS). */
  tls?: { key: Buffer | string; cert: Buffer | string; ca?: Buffer | string };
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  bodyBytes: number;
}

interface Fault {
  status: number;
  times: number;
  headers: Record<string, string>;
  method?: string;
}

interface StatusRecord {
  id: string;
  requestTimestamp: string;
  successes: Array<{ id: string; version: string; message?: string }>;
  failures: Array<{ id: string; version: string; message?: string }>;
  pollsLeft: number;
}

const ID_RE =
  /^[a-z][a-z0-9-]+[a-z0-9]--[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(title);
  }
}

function versionOf(o: Record<string, unknown>, dateAdded: string): string {
  const v = o['modified'] ?? o['created'];
  return typeof v === 'string' ? v : dateAdded;
}

/** `application/taxii+json` with no version or version=2.1; anything else is another media type. */
function isTaxii21(mediaType: string): boolean {
  const [type, ...params] = mediaType.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/taxii+json') return false;
  const version = params.find((p) => p.replace(/\s/g, '').startsWith('version='));
  return version === undefined || version.replace(/\s/g, '') === 'version=2.1';
}

export class TaxiiTestServer {
  readonly requests: LoggedRequest[] = [];
  /** The (id, version) pairs of every accepted POST envelope, in order (what a client actually sent). */
  readonly posts: Array<Array<{ id: string; version: string }>> = [];
  private hold?: { at: number; reached: () => void };
  private readonly store = new Map<string, Map<string, StoredVersion[]>>();
  private readonly statuses = new Map<string, StatusRecord>();
  private readonly faults: Fault[] = [];
  private readonly opts: Required<Omit<TaxiiTestServerOptions, 'collections' | 'tls'>> & {
    collections: TestCollection[];
  };
  private readonly tls: TaxiiTestServerOptions['tls'];
  private lastAdded = 0;
  private server?: http.Server;
  private baseUrl = '';

  constructor(opts: TaxiiTestServerOptions = {}) {
    this.opts = {
      users: opts.users ?? { reporter: 'secret' },
      maxContentLength: opts.maxContentLength ?? 1_048_576,
      collections: opts.collections ?? [
        {
          id: '91a7b528-80eb-42ed-a74d-c6fbd5a26116',
          title: 'Incident reports',
          can_read: true,
          can_write: true,
        },
      ],
      apiRoot: opts.apiRoot ?? 'api1',
      pendingPolls: opts.pendingPolls ?? 0,
      duplicates: opts.duplicates ?? 'success',
      pageSize: opts.pageSize ?? 100,
    };
    this.tls = opts.tls;
    for (const c of this.opts.collections) this.store.set(c.id, new Map());
  }

  static async start(opts: TaxiiTestServerOptions = {}): Promise<TaxiiTestServer> {
    const s = new TaxiiTestServer(opts);
    await s.listen();
    return s;
  }

  get url(): string {
    return this.baseUrl;
  }

  get apiRootUrl(): string {
    return `${this.baseUrl}/${this.opts.apiRoot}/`;
  }

  get discoveryUrl(): string {
    return `${this.baseUrl}/taxii2/`;
  }

  /** The next `times` requests (of `method`, if given) answer `status` before any other processing. */
  failNext(
    status: number,
    opts: { times?: number; headers?: Record<string, string>; method?: string } = {},
  ): void {
    this.faults.push({ status, times: opts.times ?? 1, headers: opts.headers ?? {}, method: opts.method });
  }

  /**
   * The `n`th accepted POST (1-based, counted from now on) is processed and stored, but its answer is never
   * sent: the client sees a request that hangs, as when it dies (or the network breaks) mid-delivery.
   * Resolves once that POST has been stored.
   */
  holdPost(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.hold = { at: this.posts.length + n, reached: resolve };
    });
  }

  /** Every stored version in a collection. */
  stored(collectionId: string): Array<{ id: string; version: string }> {
    const out: Array<{ id: string; version: string }> = [];
    for (const [id, versions] of this.store.get(collectionId) ?? [])
      for (const v of versions) out.push({ id, version: v.version });
    return out;
  }

  async listen(port = 0): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.handle(req, res);
    const t = this.tls;
    this.server = t
      ? https.createServer(
          { key: t.key, cert: t.cert, ca: t.ca, requestCert: t.ca !== undefined, rejectUnauthorized: true },
          handler,
        )
      : http.createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    const scheme = t ? 'https' : 'http';
    this.baseUrl = `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    let body: Buffer = Buffer.alloc(0);
    let status = 500;
    try {
      // Read everything before answering, even an oversize body: answering early makes clients see a reset.
      const { buf, over } = await this.readBody(req);
      body = buf;
      const out = this.route(req, url, buf, over);
      status = out.status;
      if (req.method === 'POST' && out.status === 202 && this.hold && this.posts.length === this.hold.at) {
        const reached = this.hold.reached;
        this.hold = undefined;
        reached();
        return;
      }
      this.send(res, out.status, out.body, out.headers);
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, 'Internal error');
      status = e.status;
      this.send(res, e.status, { title: e.title, http_status: String(e.status) }, e.headers);
    } finally {
      this.requests.push({ method: req.method ?? '', path: url.pathname, status, bodyBytes: body.length });
    }
  }

  private readBody(req: http.IncomingMessage): Promise<{ buf: Buffer; over: boolean }> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= this.opts.maxContentLength) chunks.push(c);
      });
      req.on('end', () => resolve({ buf: Buffer.concat(chunks), over: size > this.opts.maxContentLength }));
      req.on('error', reject);
    });
  }

  private send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': TAXII_MEDIA_TYPE,
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private route(
    req: http.IncomingMessage,
    url: URL,
    body: Buffer,
    over: boolean,
  ): { status: number; body: unknown; headers?: Record<string, string> } {
    const method = req.method ?? 'GET';
    const fault = this.faults.find((f) => f.method === undefined || f.method === method);
    if (fault) {
      fault.times -= 1;
      if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      throw new HttpError(fault.status, `injected ${fault.status}`, fault.headers);
    }

    this.authenticate(req);
    // TAXII 2.1 §3.2: clients MUST send Accept with the TAXII media type; we answer only that type.
    const accept = req.headers.accept ?? '';
    if (!accept.split(',').some((m) => isTaxii21(m))) throw new HttpError(406, 'Not Acceptable');

    const parts = url.pathname
      .split('/')
      .filter((p) => p.length > 0)
      .map(decodeURIComponent);
    if (!url.pathname.endsWith('/')) throw new HttpError(404, 'Not Found');
    const allow = (...methods: string[]): void => {
      if (!methods.includes(method))
        throw new HttpError(405, 'Method Not Allowed', { Allow: methods.join(', ') });
    };

    if (parts.length === 1 && parts[0] === 'taxii2') {
      allow('GET');
      return {
        status: 200,
        body: {
          title: 'citysoc test TAXII server',
          description: 'TAXII 2.1 test double',
          default: this.apiRootUrl,
          api_roots: [this.apiRootUrl],
        },
      };
    }
    if (parts[0] !== this.opts.apiRoot) throw new HttpError(404, 'Unknown API root');
    const rest = parts.slice(1);
    if (rest.length === 0) {
      allow('GET');
      return {
        status: 200,
        body: {
          title: 'Test API root',
          versions: [TAXII_MEDIA_TYPE],
          max_content_length: this.opts.maxContentLength,
        },
      };
    }
    if (rest[0] === 'status' && rest.length === 2) {
      allow('GET');
      return { status: 200, body: this.pollStatus(rest[1]!) };
    }
    if (rest[0] !== 'collections') throw new HttpError(404, 'Not Found');
    if (rest.length === 1) {
      allow('GET');
      return {
        status: 200,
        body: { collections: this.opts.collections.map((c) => this.collectionResource(c)) },
      };
    }
    const coll = this.opts.collections.find((c) => c.id === rest[1]);
    if (!coll) throw new HttpError(404, 'Unknown collection');
    if (rest.length === 2) {
      allow('GET');
      return { status: 200, body: this.collectionResource(coll) };
    }
    if (rest[2] !== 'objects') throw new HttpError(404, 'Not Found');
    if (rest.length === 3) {
      allow('GET', 'POST');
      if (method === 'POST') return this.addObjects(req, coll, body, over);
      if (!coll.can_read) throw new HttpError(403, 'Collection not readable');
      return this.getObjects(coll, url.searchParams);
    }
    if (!coll.can_read) throw new HttpError(403, 'Collection not readable');
    const objectId = rest[3]!;
    if (rest.length === 4) {
      allow('GET');
      const page = this.getObjects(coll, url.searchParams, objectId);
      if (((page.body as { objects?: unknown[] }).objects ?? []).length === 0)
        throw new HttpError(404, 'No such object');
      return page;
    }
    if (rest.length === 5 && rest[4] === 'versions') {
      allow('GET');
      const versions = this.store.get(coll.id)!.get(objectId);
      if (!versions) throw new HttpError(404, 'No such object');
      return { status: 200, body: { more: false, versions: versions.map((v) => v.version).sort() } };
    }
    throw new HttpError(404, 'Not Found');
  }

  private authenticate(req: http.IncomingMessage): void {
    const challenge = { 'WWW-Authenticate': 'Basic realm="taxii"' };
    const h = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h);
    if (!m) throw new HttpError(401, 'Authentication required', challenge);
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const pass = Buffer.from(decoded.slice(colon + 1));
    const expected = this.opts.users[user];
    const ok =
      colon > 0 &&
      expected !== undefined &&
      Buffer.byteLength(expected) === pass.length &&
      timingSafeEqual(Buffer.from(expected), pass);
    if (!ok) throw new HttpError(401, 'Bad credentials', challenge);
  }

  private collectionResource(c: TestCollection): Record<string, unknown> {
    return { ...c, media_types: ['application/stix+json;version=2.1'] };
  }

  private addObjects(
    req: http.IncomingMessage,
    coll: TestCollection,
    body: Buffer,
    over: boolean,
  ): { status: number; body: unknown } {
    if (!isTaxii21(req.headers['content-type'] ?? '')) throw new HttpError(415, 'Unsupported Media Type');
    if (over) throw new HttpError(413, 'Request Entity Too Large');
    if (!coll.can_write) throw new HttpError(403, 'Collection not writable');
    let env: unknown;
    try {
      env = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'Body is not JSON');
    }
    const objects = (env as { objects?: unknown }).objects;
    if (env === null || typeof env !== 'object' || !Array.isArray(objects))
      throw new HttpError(422, 'Body is not an envelope with an objects array');

    const rec: StatusRecord = {
      id: randomUUID(),
      requestTimestamp: new Date().toISOString(),
      successes: [],
      failures: [],
      pollsLeft: this.opts.pendingPolls,
    };
    const byId = this.store.get(coll.id)!;
    for (const raw of objects) {
      const o = raw as Record<string, unknown>;
      const id = typeof o?.['id'] === 'string' ? o['id'] : '';
      if (
        !o ||
        typeof o !== 'object' ||
        !ID_RE.test(id) ||
        typeof o['type'] !== 'string' ||
        !id.startsWith(`${o['type']}--`)
      ) {
        rec.failures.push({
          id: id || '(none)',
          version: '',
          message: 'not a STIX object: bad or missing type/id',
        });
        continue;
      }
      const dateAdded = this.nextDateAdded();
      const versions = byId.get(id) ?? [];
      // Unversioned objects (SCOs: no modified/created) have content-derived ids, so one id is one object.
      const unversioned = typeof (o['modified'] ?? o['created']) !== 'string';
      const version = unversioned && versions[0] ? versions[0].version : versionOf(o, dateAdded);
      if (versions.some((v) => v.version === version)) {
        if (this.opts.duplicates === 'success')
          rec.successes.push({ id, version, message: 'already present' });
        else rec.failures.push({ id, version, message: 'Object already exists' });
        continue;
      }
      versions.push({ obj: o, version, dateAdded });
      byId.set(id, versions);
      rec.successes.push({ id, version });
    }
    this.statuses.set(rec.id, rec);
    this.posts.push(
      (objects as Array<Record<string, unknown> | null>).map((o) => {
        const v = o?.['modified'] ?? o?.['created'];
        return {
          id: typeof o?.['id'] === 'string' ? o['id'] : '',
          version: typeof v === 'string' ? v : 'unversioned',
        };
      }),
    );
    return { status: 202, body: this.statusResource(rec) };
  }

  private pollStatus(id: string): Record<string, unknown> {
    const rec = this.statuses.get(id);
    if (!rec) throw new HttpError(404, 'Unknown status');
    if (rec.pollsLeft > 0) rec.pollsLeft -= 1;
    return this.statusResource(rec);
  }

  private statusResource(rec: StatusRecord): Record<string, unknown> {
    const total = rec.successes.length + rec.failures.length;
    if (rec.pollsLeft > 0)
      return {
        id: rec.id,
        status: 'pending',
        request_timestamp: rec.requestTimestamp,
        total_count: total,
        success_count: 0,
        failure_count: 0,
        pending_count: total,
        pendings: [...rec.successes, ...rec.failures].map(({ id, version }) => ({ id, version })),
      };
    return {
      id: rec.id,
      status: 'complete',
      request_timestamp: rec.requestTimestamp,
      total_count: total,
      success_count: rec.successes.length,
      successes: rec.successes,
      failure_count: rec.failures.length,
      failures: rec.failures,
      pending_count: 0,
    };
  }

  /** Strictly increasing, so `added_after` paging never skips or repeats an object. */
  private nextDateAdded(): string {
    this.lastAdded = Math.max(Date.now(), this.lastAdded + 1);
    return new Date(this.lastAdded).toISOString();
  }

  private getObjects(
    coll: TestCollection,
    q: URLSearchParams,
    onlyId?: string,
  ): { status: number; body: unknown; headers?: Record<string, string> } {
    const list = (k: string): string[] | undefined =>
      q
        .get(k)
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    const ids = onlyId ? [onlyId] : list('match[id]');
    const types = list('match[type]');
    const versionSel = list('match[version]') ?? ['last'];
    const specVersions = list('match[spec_version]');
    const addedAfter = q.get('added_after');
    const limitRaw = q.get('limit');
    const limit = limitRaw === null ? this.opts.pageSize : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, 'Bad limit');
    const offset = q.get('next') === null ? 0 : Number(q.get('next'));
    if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 'Bad next');

    const hits: StoredVersion[] = [];
    for (const [id, versions] of this.store.get(coll.id)!) {
      if (ids && !ids.includes(id)) continue;
      const sorted = [...versions].sort((a, b) =>
        a.version < b.version ? -1 : a.version > b.version ? 1 : 0,
      );
      const chosen = new Set<StoredVersion>();
      for (const sel of versionSel) {
        if (sel === 'all') sorted.forEach((v) => chosen.add(v));
        else if (sel === 'first' && sorted[0]) chosen.add(sorted[0]);
        else if (sel === 'last' && sorted.length) chosen.add(sorted[sorted.length - 1]!);
        else sorted.filter((v) => v.version === sel).forEach((v) => chosen.add(v));
      }
      for (const v of chosen) {
        if (types && !types.includes(String(v.obj['type']))) continue;
        const sv = v.obj['spec_version'];
        if (specVersions && !specVersions.includes(typeof sv === 'string' ? sv : '2.0')) continue;
        if (addedAfter && !(v.dateAdded > new Date(addedAfter).toISOString())) continue;
        hits.push(v);
      }
    }
    hits.sort((a, b) => (a.dateAdded < b.dateAdded ? -1 : 1));
    const page = hits.slice(offset, offset + limit);
    const more = offset + limit < hits.length;
    const headers: Record<string, string> = {};
    if (page.length) {
      headers['X-TAXII-Date-Added-First'] = page[0]!.dateAdded;
      headers['X-TAXII-Date-Added-Last'] = page[page.length - 1]!.dateAdded;
    }
    const body: Record<string, unknown> = { more };
    if (more) body['next'] = String(offset + limit);
    if (page.length) body['objects'] = page.map((v) => v.obj);
    return { status: 200, body, headers };
  }
}
