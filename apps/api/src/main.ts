import 'reflect-metadata';
import { createAppLogger, loadConfigOrExit } from '@citysoc/observability';
import { bootstrapAdmin, createApiApp } from './app';
import { apiSchema } from './config';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(apiSchema, 'api');
  const app = await createApiApp(config, createAppLogger('api'));
  const admin = bootstrapAdmin(app, config.adminToken);
  await app.listen(config.apiPort, config.apiHost);
  const url = `http://${config.apiHost === '::' || config.apiHost === '0.0.0.0' ? 'localhost' : config.apiHost}:${config.apiPort}`;
  process.stdout.write(`citysoc API listening on ${url} (OpenAPI at ${url}/api/docs)\n`);
  if (admin?.token) {
    // Written to the terminal once, never to a file: only the hash is kept.
    process.stdout.write(
      `\n  First start: bootstrap admin token (shown once, store it safely):\n\n    ${admin.token}\n\n`,
    );
  } else if (admin?.preset) {
    process.stdout.write('First start: bootstrap admin token taken from CITYSOC_ADMIN_TOKEN\n');
  }
}

void bootstrap().catch((err: unknown) => {
  process.stderr.write(`citysoc-api failed to start: ${String(err)}\n`);
  process.exit(1);
});
