import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { rmSync } from 'node:fs';
import { loadConfig } from '@citysoc/config';
import { cleanupStreams, uniquePrefix, writeRulesDir } from '@citysoc/testing';
import { detectorSchema } from './config';
import { DetectorModule } from './detector.module';

/**
 * A detector on real NATS with its own stream prefix and rule folder, for integration tests: config with the
 * test defaults (no metrics port, no rule watch), start, and one cleanup for streams and folder.
 */
export class DetectorTestbed {
  readonly prefix = uniquePrefix();
  readonly rulesDir: string;

  constructor(
    name: string,
    rules: Record<string, string>,
    private readonly env: Record<string, string> = {},
  ) {
    this.rulesDir = writeRulesDir(name, rules);
  }

  config(extra: Record<string, string> = {}) {
    return loadConfig(detectorSchema, {
      CITYSOC_STREAM_PREFIX: this.prefix,
      CITYSOC_BUILTIN_RULES: this.rulesDir,
      CITYSOC_DETECTOR_METRICS_PORT: '-1',
      CITYSOC_DETECTOR_WATCH_RULES: 'false',
      ...(process.env.CITYSOC_NATS_URL ? { CITYSOC_NATS_URL: process.env.CITYSOC_NATS_URL } : {}),
      ...this.env,
      ...extra,
    });
  }

  /** A started detector; the test closes it (restart tests close it midway). */
  async start(extra: Record<string, string> = {}): Promise<INestApplicationContext> {
    const app = await NestFactory.createApplicationContext(DetectorModule.register(this.config(extra)), {
      logger: false,
    });
    await app.init();
    return app;
  }

  /** Streams and rule folder; call after the test's apps are closed. */
  async cleanup(): Promise<void> {
    await cleanupStreams(this.prefix);
    rmSync(this.rulesDir, { recursive: true, force: true });
  }
}
