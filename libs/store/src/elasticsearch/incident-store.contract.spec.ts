import { incidentStoreContract } from '../contract/incident-store.contract.test';
import { ElasticsearchAuditLog } from './audit-log';
import { type IncidentLifecycleDoc } from './incident-docs';
import { ElasticsearchIncidentStore } from './incident-store';
import { FakeCluster } from './testing/fake-cluster.test';

describe('incident store contract: Elasticsearch through @elastic/elasticsearch-mock', () => {
  incidentStoreContract(async (clock) => {
    const fake = new FakeCluster();
    // Searches see only what a refresh made visible, as on a real cluster.
    fake.modelRefresh = true;
    const audit = new ElasticsearchAuditLog(fake.client());
    const store = new ElasticsearchIncidentStore(fake.client(), { audit, now: () => clock.ms });
    await store.install();
    return {
      store,
      settle: () => store.refresh(),
      cleanup: async () => {
        // Every human action reached the audit log and the chain holds; nothing is left in flight.
        expect(await audit.verify()).toMatchObject({ ok: true });
        for (const [, e] of fake.indices.get(store.index) ?? []) {
          const d = e.doc as unknown as IncidentLifecycleDoc;
          expect([d.outbox, d.pending ?? [], d.transfer ?? null]).toEqual([[], [], null]);
        }
      },
    };
  });
});
