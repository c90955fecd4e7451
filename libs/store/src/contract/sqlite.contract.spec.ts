import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEventStore } from '../sqlite/control';
import { eventStoreContract } from './event-store.contract.test';

describe('EventStore contract: SQLite (a real file)', () => {
  eventStoreContract(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-contract-'));
    const store = openEventStore(dir);
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
