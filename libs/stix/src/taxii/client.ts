import { type StixObject } from '../types';
import { TaxiiError, codeForStatus, parseRetryAfter } from './errors';
import { splitEnvelopes } from './split';
import { type HttpRequest, type HttpTransport, type TlsOptions, nodeTransport } from './transport';
import {
  type ApiRoot,
  type Collection,
  type Discovery,
  type Envelope,
  type ErrorMessage,
  type StatusDetail,
  type StatusResource,
  TAXII_MEDIA_TYPE,
  objectVersion,
} from './types';

export interface TaxiiClientOptions {
  /** The API root URL (`CITYSOC_TAXII_URL`). */
  apiRootUrl: string;
  user?: string;
  password?: string;
  tls?: TlsOptions;
  timeoutMs?: number;
  /** Replaces the node:http(s) transport (tests, proxies). */
  transport?: HttpTransport;
  pollIntervalMs?: number;
  /** Status polls per envelope before giving up with `status_incomplete`. */
  maxPolls?: number;
  /** Injected so tests never wait on a clock. */
  sleep?: (ms: number) => Promise<void>;
}

export interface ObjectsFilter {
  addedAfter?: string;
  limit?: number;
  next?: string;
  ids?: string[];
  types?: string[];
  /** `last` (server default), `first`, `all`, or timestamps. */
  versions?: string[];
  specVersions?: string[];
}

export interface ObjectsPage extends Envelope {
  /** X-TAXII-Date-Added-Last: where the next `added_after` poll starts. */
  dateAddedLast?: string;
}

export interface AddObjectsResult {
  statusIds: string[];
  envelopes: number;
  total: number;
  /** Accepted now, or already held by the server in that version (also listed in `alreadyPresent`). */
  successes: StatusDetail[];
  alreadyPresent: StatusDetail[];
  failures: StatusDetail[];
}

const DUPLICATE_MESSAGE = /already|duplicate|exist/i;

export class TaxiiClient {
  private readonly root: string;
  private readonly transport: HttpTransport;
  private readonly auth?: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private apiRootCache?: ApiRoot;

  constructor(private readonly opts: TaxiiClientOptions) {
    this.root = opts.apiRootUrl.endsWith('/') ? opts.apiRootUrl : `${opts.apiRootUrl}/`;
    this.transport = opts.transport ?? nodeTransport({ tls: opts.tls, timeoutMs: opts.timeoutMs });
    if (opts.user !== undefined)
      this.auth = `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Server discovery (`/taxii2/` on the API root's host unless given). */
  discover(url?: string): Promise<Discovery> {
    return this.getJson<Discovery>(url ?? new URL('/taxii2/', this.root).toString());
  }

  async apiRoot(refresh = false): Promise<ApiRoot> {
    if (!this.apiRootCache || refresh) this.apiRootCache = await this.getJson<ApiRoot>(this.root);
    return this.apiRootCache;
  }

  async collections(): Promise<Collection[]> {
    const r = await this.getJson<{ collections?: Collection[] }>(`${this.root}collections/`);
    return r.collections ?? [];
  }

  collection(id: string): Promise<Collection> {
    return this.getJson<Collection>(`${this.root}collections/${encodeURIComponent(id)}/`);
  }

  status(statusId: string): Promise<StatusResource> {
    return this.getJson<StatusResource>(`${this.root}status/${encodeURIComponent(statusId)}/`);
  }

  /** One page of a collection's objects (the pull side: indicators from the national collection). */
  async getObjects(collectionId: string, filter: ObjectsFilter = {}): Promise<ObjectsPage> {
    const q = new URLSearchParams();
    if (filter.addedAfter) q.set('added_after', filter.addedAfter);
    if (filter.limit !== undefined) q.set('limit', String(filter.limit));
    if (filter.next) q.set('next', filter.next);
    if (filter.ids?.length) q.set('match[id]', filter.ids.join(','));
    if (filter.types?.length) q.set('match[type]', filter.types.join(','));
    if (filter.versions?.length) q.set('match[version]', filter.versions.join(','));
    if (filter.specVersions?.length) q.set('match[spec_version]', filter.specVersions.join(','));
    const qs = q.toString();
    const url = `${this.root}collections/${encodeURIComponent(collectionId)}/objects/${qs ? `?${qs}` : ''}`;
    const res = await this.request({ method: 'GET', url, headers: {} });
    const env = parse<Envelope>(res.body, url);
    return { ...env, dateAddedLast: res.headers['x-taxii-date-added-last'] };
  }

  /** Every page, following `next`, from `addedAfter` on. */
  async *pullObjects(collectionId: string, filter: ObjectsFilter = {}): AsyncGenerator<StixObject[], void> {
    let next: string | undefined;
    for (;;) {
      const page = await this.getObjects(collectionId, { ...filter, next });
      if (page.objects?.length) yield page.objects;
      if (!page.more || !page.next) return;
      next = page.next;
    }
  }

  /**
   * Sends objects in envelopes that fit the server's `max_content_length`, in order, and polls each status
   * until complete. A version the server already holds counts as success, so a re-send after a crash is
   * harmless. Per-object failures are returned, not thrown: the caller records them and alerts.
   */
  async addObjects(collectionId: string, objects: readonly StixObject[]): Promise<AddObjectsResult> {
    const [root, coll] = await Promise.all([this.apiRoot(), this.collection(collectionId)]);
    if (!coll.can_write)
      throw new TaxiiError('not_writable', `collection ${collectionId} is not writable for us`);
    const envelopes = splitEnvelopes(objects, root.max_content_length);
    const result: AddObjectsResult = {
      statusIds: [],
      envelopes: envelopes.length,
      total: objects.length,
      successes: [],
      alreadyPresent: [],
      failures: [],
    };
    const url = `${this.root}collections/${encodeURIComponent(collectionId)}/objects/`;
    for (const env of envelopes) {
      const res = await this.request({
        method: 'POST',
        url,
        headers: { 'Content-Type': TAXII_MEDIA_TYPE },
        body: JSON.stringify({ objects: env }),
      });
      let status = parse<StatusResource>(res.body, url);
      result.statusIds.push(status.id);
      let polls = 0;
      while (status.status !== 'complete') {
        if (polls >= (this.opts.maxPolls ?? 30))
          throw new TaxiiError(
            'status_incomplete',
            `status ${status.id} still pending after ${polls} polls`,
            undefined,
            undefined,
            { partial: result, pending: status },
          );
        polls += 1;
        await this.sleep(this.opts.pollIntervalMs ?? 1000);
        status = await this.status(status.id);
      }
      result.successes.push(...(status.successes ?? []));
      for (const f of status.failures ?? []) {
        if (await this.alreadyHeld(collectionId, coll, f)) {
          result.alreadyPresent.push(f);
          result.successes.push(f);
        } else result.failures.push(f);
      }
    }
    return result;
  }

  /**
   * Servers differ on a duplicate (id, version): some count it as success, medallion reports a failure. Ask
   * the collection when we may read it; otherwise trust the failure message.
   */
  private async alreadyHeld(collectionId: string, coll: Collection, f: StatusDetail): Promise<boolean> {
    if (!coll.can_read) return DUPLICATE_MESSAGE.test(f.message ?? '');
    try {
      const url =
        `${this.root}collections/${encodeURIComponent(collectionId)}/objects/${encodeURIComponent(f.id)}/` +
        `?match[version]=${encodeURIComponent(f.version)}`;
      const res = await this.request({ method: 'GET', url, headers: {} });
      const env = parse<Envelope>(res.body, url);
      // An SCO has no version of its own; the server versions it by date added, which it matched for us.
      return (env.objects ?? []).some(
        (o) => o.id === f.id && [f.version, 'unversioned'].includes(objectVersion(o)),
      );
    } catch (err) {
      if (err instanceof TaxiiError && err.code === 'not_found') return false;
      throw err;
    }
  }

  private async getJson<T>(url: string): Promise<T> {
    const res = await this.request({ method: 'GET', url, headers: {} });
    return parse<T>(res.body, url);
  }

  private async request(
    req: HttpRequest,
  ): Promise<{ body: string; headers: Record<string, string | undefined> }> {
    const headers: Record<string, string> = { Accept: TAXII_MEDIA_TYPE, ...req.headers };
    if (this.auth) headers['Authorization'] = this.auth;
    const res = await this.transport({ ...req, headers });
    if (res.status >= 200 && res.status < 300) return res;
    let msg: ErrorMessage | undefined;
    try {
      msg = JSON.parse(res.body) as ErrorMessage;
    } catch {
      msg = undefined;
    }
    const text = msg?.title
      ? `${msg.title}${msg.description ? `: ${msg.description}` : ''}`
      : res.body.slice(0, 200);
    throw new TaxiiError(
      codeForStatus(res.status),
      `${req.method} ${req.url} → HTTP ${res.status} ${text}`,
      res.status,
      parseRetryAfter(res.headers['retry-after']),
      msg,
    );
  }
}

function parse<T>(body: string, url: string): T {
  try {
    return JSON.parse(body) as T;
  } catch {
    throw new TaxiiError('bad_response', `${url} did not return JSON`);
  }
}
