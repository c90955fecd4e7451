import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createAppLogger, loadConfigOrExit } from '@citysoc/observability';
import { detectorSchema } from './config';
import { DetectorModule } from './detector.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(detectorSchema, 'detector');
  const app = await NestFactory.createApplicationContext(DetectorModule.register(config), {
    logger: createAppLogger('detector'),
  });
  app.enableShutdownHooks();
}

void bootstrap().catch((err: unknown) => {
  process.stderr.write(`citysoc-detector failed to start: ${String(err)}\n`);
  process.exit(1);
});
