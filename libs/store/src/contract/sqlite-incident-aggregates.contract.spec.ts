import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openControlStore } from '../sqlite/control';
import { SqliteIncidentStore } from '../sqlite/incident-store';
import { incidentAggregatesContract } from './incident-aggregates.contract.test';

describe('incident aggregates contract: SQLite (a real file)', () => {
  incidentAggregatesContract(async (clock) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-incident-aggregates-contract-'));
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
