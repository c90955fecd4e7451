import { eventStoreContract } from '../contract/event-store.contract.test';
import { ElasticsearchEventStore } from './event-store';
import { FakeCluster } from './testing/fake-cluster.test';

describe('EventStore contract: Elasticsearch through @elastic/elasticsearch-mock', () => {
  eventStoreContract(async () => {
    const fake = new FakeCluster();
    const store = new ElasticsearchEventStore(fake.client(), { sleep: async () => undefined });
    return { store, cleanup: () => store.close() };
  });
});
