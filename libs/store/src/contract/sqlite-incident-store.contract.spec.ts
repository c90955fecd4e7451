import { incidentStoreContract } from './incident-store.contract.test';
import { sqliteIncidentStore } from './sqlite-fixture.test';

describe('incident store contract: SQLite (a real file)', () => {
  incidentStoreContract(sqliteIncidentStore('incident-store-contract'));
});
