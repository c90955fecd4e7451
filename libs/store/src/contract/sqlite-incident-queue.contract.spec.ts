import { incidentQueueContract } from './incident-queue.contract.test';
import { sqliteIncidentStore } from './sqlite-fixture.test';

describe('incident queue views contract: SQLite (a real file)', () => {
  incidentQueueContract(sqliteIncidentStore('incident-queue-contract'));
});
