import { type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@citysoc/config';
import { cleanupStreams, freePort, uniquePrefix } from '@citysoc/testing';
import { reporterSchema } from '../../apps/reporter/src/config';
import { ReporterModule } from '../../apps/reporter/src/reporter.module';
import { responderSchema } from '../../apps/responder/src/config';
import { ResponderModule } from '../../apps/responder/src/responder.module';

/**
 * Every app that keeps work in Redis reports not ready on a Redis that does not persist (issue 11). The
 * shared test Redis (127.0.0.1:6379) keeps nothing on disk, which is exactly the case to refuse; allowing
 * volatile Redis explicitly (development) makes the same app ready.
 */
const apps: Array<{ app: string; metricsEnv: string; module: (env: NodeJS.ProcessEnv) => DynamicModule }> = [
  {
    app: 'responder',
    metricsEnv: 'CITYSOC_RESPONDER_METRICS_PORT',
    module: (env) => ResponderModule.register(loadConfig(responderSchema, env)),
  },
  {
    app: 'reporter',
    metricsEnv: 'CITYSOC_REPORTER_METRICS_PORT',
    module: (env) => ReporterModule.register(loadConfig(reporterSchema, env)),
  },
];

describe.each(apps)('$app readiness on Redis persistence', ({ app, metricsEnv, module }) => {
  const prefix = uniquePrefix();
  const dir = mkdtempSync(path.join(os.tmpdir(), `citysoc-ready-${app}-`));
  afterAll(async () => {
    await cleanupStreams(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    { allowVolatile: 'false', status: 503, ok: false, detail: /does not persist \(appendonly no\)/ },
    { allowVolatile: 'true', status: 200, ok: true, detail: /volatile \(allowed\)/ },
  ])(
    'CITYSOC_REDIS_ALLOW_VOLATILE=$allowVolatile on a Redis without AOF → $status',
    async ({ allowVolatile, status, ok, detail }) => {
      const port = await freePort();
      const env = {
        CITYSOC_STREAM_PREFIX: prefix,
        CITYSOC_QUEUE_PREFIX: `citysoc-${prefix}`,
        CITYSOC_DATA_DIR: dir,
        CITYSOC_REDIS_ALLOW_VOLATILE: allowVolatile,
        [metricsEnv]: String(port),
      };
      let ctx: INestApplicationContext | undefined;
      try {
        ctx = await NestFactory.createApplicationContext(module(env), { logger: false });
        await ctx.init();
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        const body = (await res.json()) as { checks: { redis: { ok: boolean; detail: string } } };
        expect(res.status).toBe(status);
        expect(body.checks.redis.ok).toBe(ok);
        expect(body.checks.redis.detail).toMatch(detail);
      } finally {
        await ctx?.close();
      }
    },
    30_000,
  );
});
