import { SqliteIncidentStore } from '../sqlite/incident-store';
import { incidentGroupingContract } from './incident-grouping.contract.test';
import { tempControlStore } from './sqlite-fixture.test';

describe('incident grouping contract: SQLite (a real file)', () => {
  incidentGroupingContract(async () => {
    const { control, cleanup } = tempControlStore('grouping-contract');
    const inc = new SqliteIncidentStore(control.db);
    return {
      record: async (alert, policy) => {
        const r = await inc.recordAlert(alert, policy);
        return {
          id: r.incident.id,
          created: r.created,
          duplicate: r.duplicate,
          reopened: r.reopened,
          ...(r.severityRaised !== undefined ? { severityRaised: r.severityRaised } : {}),
        };
      },
      get: async (id) => {
        const i = await inc.get(id);
        return (
          i && {
            status: i.status,
            severity: i.severity,
            alert_count: i.alert_count,
            rule_ids: i.rule_ids,
            generation: i.generation,
            priority: i.priority,
            tags: i.tags,
            unit_path: i.unit?.path ?? null,
            title: i.title,
          }
        );
      },
      transition: async (id, input, actor) => {
        await inc.transition(id, input, actor);
      },
      cleanup,
    };
  });
});
