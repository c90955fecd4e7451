import http from 'node:http';
import https from 'node:https';
import { TaxiiError, isTlsFailure } from './errors';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

export type HttpTransport = (req: HttpRequest) => Promise<HttpResponse>;

/** Client certificate and trust anchors for HTTPS (mutual TLS when `cert` and `key` are set). */
export interface TlsOptions {
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  ca?: string | Buffer | Array<string | Buffer>;
  /** Only for tests against a self-signed server; never turn off in production. */
  rejectUnauthorized?: boolean;
}

/**
 * node:http(s) rather than fetch: Node's fetch takes client certificates only through an undici dispatcher,
 * and undici is not a dependency we may add.
 */
export function nodeTransport(opts: { tls?: TlsOptions; timeoutMs?: number } = {}): HttpTransport {
  const agent = new https.Agent({ keepAlive: true, ...opts.tls });
  const plainAgent = new http.Agent({ keepAlive: true });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return (req) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const url = new URL(req.url);
      const isHttps = url.protocol === 'https:';
      const mod = isHttps ? https : http;
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
      const r = mod.request(
        url,
        { method: req.method, headers, agent: isHttps ? agent : plainAgent, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new TaxiiError('network_error', e.message)));
          res.on('end', () => {
            const h: Record<string, string | undefined> = {};
            for (const [k, v] of Object.entries(res.headers)) h[k] = Array.isArray(v) ? v.join(', ') : v;
            resolve({
              status: res.statusCode ?? 0,
              headers: h,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      r.on('timeout', () =>
        r.destroy(new TaxiiError('timeout', `no answer from ${url.host} in ${timeoutMs} ms`)),
      );
      r.on('error', (e) => {
        if (e instanceof TaxiiError) return reject(e);
        const code = isTlsFailure(e) ? 'tls_error' : 'network_error';
        const errno = (e as NodeJS.ErrnoException).code;
        reject(new TaxiiError(code, `${url.host}: ${e.message}${errno ? ` (${errno})` : ''}`));
      });
      r.end(req.body);
    });
}
