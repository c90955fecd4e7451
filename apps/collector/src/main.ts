import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createAppLogger, loadConfigOrExit } from '@citysoc/observability';
import { CollectorModule } from './collector.module';
import { collectorSchema } from './config';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(collectorSchema, 'collector');
  const app = await NestFactory.createApplicationContext(CollectorModule.register(config), {
    logger: createAppLogger('collector'),
  });
  app.enableShutdownHooks();
}

void bootstrap().catch((err: unknown) => {
  process.stderr.write(`citysoc-collector failed to start: ${String(err)}\n`);
  process.exit(1);
});
