import { type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type ConfigOf, type Schema } from '@citysoc/config';
import { loadConfigOrExit } from './boot';
import { createAppLogger } from './logger';

/** The whole `main.ts` of a worker app: validated config, a Nest context, graceful shutdown on signals. */
export function runWorkerApp<S extends Schema>(
  app: string,
  schema: S,
  module: (config: ConfigOf<S>) => DynamicModule,
): void {
  const start = async () => {
    const config = loadConfigOrExit(schema, app);
    const ctx = await NestFactory.createApplicationContext(module(config), { logger: createAppLogger(app) });
    ctx.enableShutdownHooks();
  };
  start().catch((err: unknown) => {
    process.stderr.write(`citysoc-${app} failed to start: ${String(err)}\n`);
    process.exit(1);
  });
}
