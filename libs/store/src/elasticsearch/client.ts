import { readFileSync } from 'node:fs';
import { Client, type ClientOptions } from '@elastic/elasticsearch';

export interface ElasticsearchConnection {
  /** One URL or several, comma-separated. */
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
  /** PEM file of the CA that signed the cluster's certificate. */
  caFile?: string;
  requestTimeoutMs?: number;
}

/**
 * The client's own retries are off: the store retries 429 as well as 502/503/504 and connection errors,
 * with backoff, and counts them.
 */
export function createElasticsearchClient(
  c: ElasticsearchConnection,
  extra: Partial<ClientOptions> = {},
): Client {
  const nodes = c.url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const auth = c.apiKey
    ? { apiKey: c.apiKey }
    : c.username
      ? { username: c.username, password: c.password ?? '' }
      : undefined;
  return new Client({
    nodes,
    ...(auth ? { auth } : {}),
    ...(c.caFile ? { tls: { ca: readFileSync(c.caFile, 'utf8') } } : {}),
    maxRetries: 0,
    requestTimeout: c.requestTimeoutMs ?? 30_000,
    ...extra,
  });
}
