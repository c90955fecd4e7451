import { incidentQueueContract } from '../contract/incident-queue.contract.test';
import { ElasticsearchAuditLog } from './audit-log';
import { ElasticsearchIncidentStore } from './incident-store';
import { FakeCluster } from './testing/fake-cluster.test';

describe('incident queue views contract: Elasticsearch through @elastic/elasticsearch-mock', () => {
  incidentQueueContract(async (clock) => {
    const fake = new FakeCluster();
    // Searches see only what a refresh made visible, as on a real cluster.
    fake.modelRefresh = true;
    const audit = new ElasticsearchAuditLog(fake.client());
    const store = new ElasticsearchIncidentStore(fake.client(), { audit, now: () => clock.ms });
    await store.install();
    return { store, settle: () => store.refresh(), cleanup: async () => undefined };
  });
});
