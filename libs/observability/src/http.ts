import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { type ComponentMetrics } from './metrics';

export type HealthCheck = () => Promise<{ ok: boolean; detail?: string }>;

/**
 * A minimal /metrics + /health endpoint for apps that have no HTTP API of their own (collector, detector,
 * indexer, responder). Bound to loopback by default: metrics are for the local Prometheus, not the WAN.
 */
export async function startMetricsServer(
  metrics: ComponentMetrics,
  checks: Record<string, HealthCheck>,
  port: number,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET') {
      res.statusCode = 405;
      res.end();
      return;
    }
    if (req.url === '/metrics') {
      res.setHeader('content-type', metrics.registry.contentType);
      res.end(await metrics.text());
      return;
    }
    if (req.url === '/health' || req.url === '/health/ready') {
      const results: Record<string, { ok: boolean; detail?: string }> = {};
      for (const [name, check] of Object.entries(checks)) {
        results[name] = await check().catch((e: unknown) => ({ ok: false, detail: String(e) }));
      }
      const ok = Object.values(results).every((r) => r.ok);
      res.statusCode = ok ? 200 : 503;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: ok ? 'ok' : 'degraded', checks: results }));
      return;
    }
    if (req.url === '/health/live') {
      res.end('{"status":"ok"}');
      return;
    }
    res.statusCode = 404;
    res.end();
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
