import { incidentGroupingContract } from '../contract/incident-grouping.contract.test';
import { ElasticsearchIncidentDocs } from './incident-docs';
import { FakeCluster } from './testing/fake-cluster.test';

describe('incident grouping contract: Elasticsearch through @elastic/elasticsearch-mock', () => {
  incidentGroupingContract(async () => {
    const docs = new ElasticsearchIncidentDocs(new FakeCluster().client());
    return {
      record: async (alert, policy) => {
        const r = await docs.recordAlert(alert, policy);
        return {
          id: r.incident.id,
          created: r.created,
          duplicate: r.duplicate,
          reopened: r.reopened,
          ...(r.severityRaised !== undefined ? { severityRaised: r.severityRaised } : {}),
        };
      },
      get: async (id) => {
        const d = await docs.get(id);
        return (
          d?.group && {
            status: d.status,
            severity: d.group.severity,
            alert_count: d.group.alert_count,
            rule_ids: d.group.rule_ids,
            generation: d.group.generation,
            priority: d.group.priority,
            tags: d.tags,
            unit_path: d.unit_path,
            title: d.group.title,
          }
        );
      },
      transition: async (id, input, actor) => {
        await docs.transition(id, input, actor);
      },
      cleanup: async () => undefined,
    };
  });
});
