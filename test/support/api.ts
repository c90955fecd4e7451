import { type INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type TestAgent from 'supertest/lib/agent';
import { type ControlStore, type IncidentStore } from '@citysoc/store';
import { uniquePrefix } from './net';

export interface TestApiOptions {
  /** The preset admin token (`bootstrapAdmin`); a fixed one keeps failures readable. */
  adminToken: string;
  /** Extra CITYSOC_* settings on top of the temp data folder and the unique queue prefix. */
  env?: Record<string, string>;
  /** Queue (and, when the test uses NATS, stream) prefix; unique by default. */
  prefix?: string;
  /** Listen on an ephemeral loopback port (tests that need a real socket); `init()` only by default. */
  listen?: boolean;
  /** Name of the temp data folder, for readable leftovers. */
  name?: string;
}

export interface TestApi {
  app: INestApplication;
  control: ControlStore;
  /** The app's incident store (what CITYSOC_INCIDENT_STORE opened). */
  incidents: IncidentStore;
  dir: string;
  prefix: string;
  adminToken: string;
  /** What `bootstrapAdmin` returned: `{ preset: true }` on a fresh store. */
  bootstrap: { token?: string; preset: boolean } | undefined;
  /** supertest against the app's server. */
  http(): TestAgent;
  /** Issues an API token through the API, as the admin. */
  issueToken(name: string, role: string, unit?: string): Promise<string>;
  /** Closes the app and removes its data folder. */
  close(): Promise<void>;
}

/**
 * The API app the integration tests talk to: real SQLite in a temp folder, the shared Redis/NATS under a
 * unique prefix, an admin token preset. The app and supertest are loaded on call, so other users of
 * @citysoc/testing do not load the API.
 */
export async function startTestApi(o: TestApiOptions): Promise<TestApi> {
  const [
    { bootstrapAdmin, createApiApp },
    { apiSchema },
    { CONTROL_STORE, INCIDENT_STORE },
    { loadConfig },
    supertest,
  ] = await Promise.all([
    import('../../apps/api/src/app'),
    import('../../apps/api/src/config'),
    import('../../apps/api/src/tokens'),
    import('@citysoc/config'),
    import('supertest'),
  ]);
  const request = supertest.default;
  const dir = mkdtempSync(path.join(os.tmpdir(), `citysoc-${o.name ?? 'api'}-`));
  const prefix = o.prefix ?? uniquePrefix();
  const app = await createApiApp(
    loadConfig(apiSchema, { CITYSOC_DATA_DIR: dir, CITYSOC_QUEUE_PREFIX: `citysoc-${prefix}`, ...o.env }),
  );
  if (o.listen) await app.listen(0, '127.0.0.1');
  else await app.init();
  const bootstrap = bootstrapAdmin(app, o.adminToken);
  const http = () => request(app.getHttpServer());
  return {
    app,
    control: app.get<ControlStore>(CONTROL_STORE),
    incidents: app.get<IncidentStore>(INCIDENT_STORE),
    dir,
    prefix,
    adminToken: o.adminToken,
    bootstrap,
    http,
    issueToken: async (name, role, unit) =>
      (
        (
          await http()
            .post('/api/v1/tokens')
            .set('authorization', `Bearer ${o.adminToken}`)
            .send({ name, role, ...(unit ? { unit } : {}) })
            .expect(201)
        ).body as { token: string }
      ).token,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
