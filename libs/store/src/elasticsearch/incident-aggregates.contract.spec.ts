import { incidentAggregatesContract } from '../contract/incident-aggregates.contract.test';
import { ElasticsearchIncidentStore } from './incident-store';
import { FakeCluster } from './testing/fake-cluster.test';

describe('incident aggregates contract: Elasticsearch through @elastic/elasticsearch-mock', () => {
  incidentAggregatesContract(async (clock) => {
    const fake = new FakeCluster();
    // Searches see only what a refresh made visible, and only mapped fields are searchable
    // (incidentIndexTemplate, dynamic: false), as on a real cluster.
    fake.modelRefresh = true;
    const store = new ElasticsearchIncidentStore(fake.client(), { now: () => clock.ms });
    await store.install();
    return { store, settle: () => store.refresh(), cleanup: async () => undefined };
  });
});
