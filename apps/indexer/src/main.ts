import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createAppLogger, loadConfigOrExit } from '@citysoc/observability';
import { indexerSchema } from './config';
import { IndexerModule } from './indexer.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(indexerSchema, 'indexer');
  const app = await NestFactory.createApplicationContext(IndexerModule.register(config), {
    logger: createAppLogger('indexer'),
  });
  app.enableShutdownHooks();
}

void bootstrap().catch((err: unknown) => {
  process.stderr.write(`citysoc-indexer failed to start: ${String(err)}\n`);
  process.exit(1);
});
