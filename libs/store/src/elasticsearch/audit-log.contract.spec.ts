import { auditLogContract } from '../contract/audit-log.contract.test';
import { type AuditEntry } from '../sqlite/audit-log';
import { ElasticsearchAuditLog } from './audit-log';
import { FakeCluster } from './testing/fake-cluster.test';

describe('AuditLog contract: Elasticsearch through @elastic/elasticsearch-mock', () => {
  auditLogContract(async () => {
    const fake = new FakeCluster();
    const client = fake.client();
    const log = new ElasticsearchAuditLog(client);
    await log.install();
    return {
      log,
      edit: async (seq: number, patch: Partial<Omit<AuditEntry, 'seq'>>) => {
        const cur = await client.get<AuditEntry>({ index: log.index, id: String(seq) });
        await client.index({ index: log.index, id: String(seq), document: { ...cur._source, ...patch } });
      },
      remove: async (seq: number) => {
        await client.delete({ index: log.index, id: String(seq) });
      },
      cleanup: () => client.close(),
    };
  });
});
