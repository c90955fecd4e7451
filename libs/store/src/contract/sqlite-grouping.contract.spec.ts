import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openControlStore } from '../sqlite/control';
import { SqliteIncidentStore } from '../sqlite/incident-store';
import { incidentGroupingContract } from './incident-grouping.contract.test';

describe('incident grouping contract: SQLite (a real file)', () => {
  incidentGroupingContract(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-grouping-contract-'));
    const control = openControlStore(dir);
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
      cleanup: async () => {
        control.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
