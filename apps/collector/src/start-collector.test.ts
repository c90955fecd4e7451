import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@citysoc/config';
import { CollectorModule } from './collector.module';
import { CollectorService } from './collector.service';
import { collectorSchema } from './config';

/**
 * A real collector in the test's process on loopback, isolated by its stream prefix (test helper: the
 * `.test.ts` suffix keeps it out of the build and out of the suites). Listeners a test does not name stay
 * off, so parallel runs never compete for the well-known ports (2055, 4739, 5514, 6514).
 */
export async function startCollector(
  prefix: string,
  env: Record<string, string>,
): Promise<{ app: INestApplicationContext; svc: CollectorService }> {
  const config = loadConfig(collectorSchema, {
    CITYSOC_STREAM_PREFIX: prefix,
    CITYSOC_SYSLOG_HOST: '127.0.0.1',
    CITYSOC_SYSLOG_UDP_PORT: '-1',
    CITYSOC_SYSLOG_TCP_PORT: '-1',
    CITYSOC_FLOW_NETFLOW_PORT: '-1',
    CITYSOC_FLOW_IPFIX_PORT: '-1',
    CITYSOC_COLLECTOR_METRICS_PORT: '-1',
    ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
    ...env,
  });
  const app = await NestFactory.createApplicationContext(CollectorModule.register(config), { logger: false });
  await app.init();
  return { app, svc: app.get(CollectorService) };
}
