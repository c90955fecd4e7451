import { type Alert } from '@citysoc/ecs';
import { type Incident } from '../ports';
import { SqliteIncidentStore } from '../sqlite/incident-store';
import { incidentActionsContract, type IncidentView } from './incident-actions.contract.test';
import { tempControlStore } from './sqlite-fixture.test';

const view = (i: Incident): IncidentView => ({
  status: i.status,
  assignee: i.assignee,
  reason: i.reason,
  duplicate_of: i.duplicate_of,
  tags: i.tags,
  acknowledged: i.acknowledged_at !== null,
  closed: i.closed_at !== null,
  reopened: i.reopened_at !== null,
});

/** An alert that opens its own incident (its own rule and entity), attributed to `unitPath` when given. */
function alertFor(name: string, unitPath: string | null): Alert {
  const ts = '2026-11-27T01:00:00.000Z';
  const parts = unitPath?.split('/') ?? [];
  return {
    id: `al-${name}`,
    '@timestamp': ts,
    created_at: ts,
    rule: { id: `rule-${name}`, title: `Rule ${name}`, level: 'medium', version: 'v1' },
    entity: `host.hostname:${name}`,
    event_ids: [`ev-${name}`],
    event: {
      '@timestamp': ts,
      event: { id: `ev-${name}`, created: ts },
      ...(unitPath
        ? {
            citysoc: {
              unit: {
                id: parts[parts.length - 1] as string,
                name: unitPath,
                path: parts,
                criticality: 'medium',
              },
            },
          }
        : {}),
    },
  };
}

describe('incident actions contract: SQLite (a real file)', () => {
  incidentActionsContract(async () => {
    const { control, cleanup } = tempControlStore('incident-contract');
    const inc = new SqliteIncidentStore(control.db);
    const must = async (id: string) => {
      const i = await inc.get(id);
      if (!i) throw new Error(`incident ${id} vanished`);
      return view(i);
    };
    return {
      open: async (name, unitPath) =>
        (await inc.recordAlert(alertFor(name, unitPath), 15 * 60_000)).incident.id,
      get: async (id, scope) => {
        const i = await inc.get(id, scope);
        return i ? view(i) : undefined;
      },
      transition: async (id, input, actor, scope) =>
        view(await inc.transition(id, input, actor, undefined, scope)),
      assign: async (id, assignee, actor, scope) => view(await inc.assign(id, assignee, actor, scope)),
      comment: async (id, actor, text, scope) => {
        await inc.comment(id, actor, text, scope);
      },
      setTags: async (id, add, remove, actor, scope) =>
        view(await inc.setTags(id, add, remove, actor, scope)),
      comments: async (id) => (await inc.comments(id)).map((c) => ({ actor: c.actor, text: c.text })),
      history: async (id) => {
        await must(id);
        return (await inc.notes(id))
          .slice(1)
          .map((n) => ({ actor: n.actor, from: n.from_status, to: n.to_status, text: n.note }));
      },
      cleanup,
    };
  });
});
