import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createAppLogger, loadConfigOrExit } from '@citysoc/observability';
import { responderSchema } from './config';
import { ResponderModule } from './responder.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(responderSchema, 'responder');
  const app = await NestFactory.createApplicationContext(ResponderModule.register(config), {
    logger: createAppLogger('responder'),
  });
  app.enableShutdownHooks();
}

void bootstrap().catch((err: unknown) => {
  process.stderr.write(`citysoc-responder failed to start: ${String(err)}\n`);
  process.exit(1);
});
