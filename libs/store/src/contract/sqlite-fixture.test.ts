import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ControlStore, openControlStore } from '../sqlite/control';
import { SqliteIncidentStore } from '../sqlite/incident-store';
import { type IncidentStoreUnderTest, type TestClock } from './incident-store.contract.test';

/** A control store on a real file in a new temporary folder; `cleanup` closes it and removes the folder. */
export function tempControlStore(name: string): { control: ControlStore; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `citysoc-${name}-`));
  const control = openControlStore(dir);
  return {
    control,
    cleanup: async () => {
      control.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The `open` of an incident contract on SQLite: a fresh control store whose incidents read the test clock. */
export function sqliteIncidentStore(name: string): (clock: TestClock) => Promise<IncidentStoreUnderTest> {
  return async (clock) => {
    const { control, cleanup } = tempControlStore(name);
    return {
      store: new SqliteIncidentStore(control.db, () => clock.ms),
      settle: async () => undefined,
      cleanup,
    };
  };
}
