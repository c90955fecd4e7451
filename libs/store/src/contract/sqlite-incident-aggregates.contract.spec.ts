import { incidentAggregatesContract } from './incident-aggregates.contract.test';
import { sqliteIncidentStore } from './sqlite-fixture.test';

describe('incident aggregates contract: SQLite (a real file)', () => {
  incidentAggregatesContract(sqliteIncidentStore('incident-aggregates-contract'));
});
