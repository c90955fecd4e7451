import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@citysoc/config';
import { cleanupStreams, uniquePrefix } from '@citysoc/testing';
import { detectorSchema } from './config';
import { DetectorModule } from './detector.module';

/** An SSH failure rule and an event_count correlation over it (group-by source.ip, 10 min). */
export function sshGuessingRules(idPrefix: string, threshold: number): Record<string, string> {
  return {
    'base.yml': `title: SSH login failure
name: ssh_login_failure
id: ${idPrefix}-0000-4000-8000-000000000001
status: stable
logsource:
  product: citysoc
detection:
  sel:
    message|contains: Failed password
  condition: sel
level: low
`,
    'correlation.yml': `title: SSH password guessing from one address
id: ${idPrefix}-0000-4000-8000-000000000002
status: stable
correlation:
  type: event_count
  rules:
    - ssh_login_failure
  group-by:
    - source.ip
  timespan: 10m
  condition:
    gte: ${threshold}
level: high
`,
  };
}

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
    this.rulesDir = mkdtempSync(path.join(os.tmpdir(), `citysoc-${name}-`));
    for (const [f, text] of Object.entries(rules)) writeFileSync(path.join(this.rulesDir, f), text);
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
