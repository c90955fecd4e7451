import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openControlStore } from '../sqlite/control';
import { SqliteIncidentStore } from '../sqlite/incident-store';
import { incidentQueueContract } from './incident-queue.contract.test';

describe('incident queue views contract: SQLite (a real file)', () => {
  incidentQueueContract(async (clock) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-incident-queue-contract-'));
    const control = openControlStore(dir);
    return {
      store: new SqliteIncidentStore(control.db, () => clock.ms),
      settle: async () => undefined,
      cleanup: async () => {
        control.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
