import { incidentActionsContract, type IncidentView } from '../contract/incident-actions.contract.test';
import { ElasticsearchAuditLog } from './audit-log';
import { ElasticsearchIncidentDocs, type IncidentLifecycleDoc } from './incident-docs';
import { FakeCluster } from './testing/fake-cluster.test';

const view = (d: IncidentLifecycleDoc): IncidentView => ({
  status: d.status,
  assignee: d.assignee,
  reason: d.reason,
  duplicate_of: d.duplicate_of,
  tags: d.tags,
  acknowledged: d.acknowledged_at !== null,
  closed: d.closed_at !== null,
  reopened: d.reopened_at !== null,
});

describe('incident actions contract: Elasticsearch through @elastic/elasticsearch-mock', () => {
  let fake: FakeCluster;
  let audit: ElasticsearchAuditLog;
  incidentActionsContract(async () => {
    fake = new FakeCluster();
    audit = new ElasticsearchAuditLog(fake.client());
    const docs = new ElasticsearchIncidentDocs(fake.client(), { audit });
    const must = async (id: string) => {
      const d = await docs.get(id);
      if (!d) throw new Error(`incident ${id} vanished`);
      return d;
    };
    return {
      open: async (name, unitPath) => (await docs.create(`inc-${name}`, 'responder', { unitPath })).id,
      get: async (id, scope) => {
        const d = await docs.get(id, scope);
        return d ? view(d) : undefined;
      },
      transition: async (id, input, actor, scope) =>
        view((await docs.transition(id, input, actor, scope)).after),
      assign: async (id, assignee, actor, scope) =>
        view((await docs.assign(id, assignee, actor, scope)).after),
      comment: async (id, actor, text, scope) => {
        await docs.comment(id, actor, text, scope);
      },
      setTags: async (id, add, remove, actor, scope) =>
        view((await docs.setTags(id, add, remove, actor, scope)).after),
      comments: async (id) => (await must(id)).comments.map((c) => ({ actor: c.actor, text: c.text })),
      history: async (id) =>
        (await must(id)).history
          .slice(1)
          .map((h) => ({ actor: h.actor, from: h.from, to: h.to, text: h.text })),
      cleanup: async () => {
        // Every successful action reached the audit log, in order, and the chain holds.
        const entries = await audit.list(1000);
        expect(await audit.verify()).toEqual({ ok: true, entries: entries.length });
        for (const [, e] of fake.indices.get('citysoc-incidents') ?? [])
          expect((e.doc as unknown as IncidentLifecycleDoc).outbox).toEqual([]);
      },
    };
  });
});
