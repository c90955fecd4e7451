import { type Alert, type Severity } from '@citysoc/ecs';
import { DEFAULT_GROUPING, type GroupingPolicy, type IncidentStatus } from '@citysoc/incidents';
import { type TransitionInput } from '../incident-port';

/**
 * Grouping alerts into incidents, run on SQLite and on Elasticsearch through the mock: the same alerts in
 * the same order give the same incidents — same ids (deterministic), counts, severities, reopenings and
 * redeliveries — because both stores apply the shared pure rules (groupOf, placeAlert…).
 */
export interface GroupingUnderTest {
  record(
    alert: Alert,
    policy: GroupingPolicy | number,
  ): Promise<{
    id: string;
    created: boolean;
    duplicate: boolean;
    reopened: boolean;
    severityRaised?: boolean;
  }>;
  get(id: string): Promise<
    | {
        status: IncidentStatus;
        severity: Severity;
        alert_count: number;
        rule_ids: string[];
        generation: number;
        priority: number;
        tags: string[];
        unit_path: string | null;
        title: string;
      }
    | undefined
  >;
  transition(id: string, input: TransitionInput, actor: string): Promise<void>;
  cleanup(): Promise<void>;
}

export function groupingAlert(
  id: string,
  at: string,
  o: {
    rule?: string;
    ip?: string;
    level?: Severity;
    unit?: string[];
    drillRun?: string;
    tags?: string[];
  } = {},
): Alert {
  const ip = o.ip ?? '198.51.100.7';
  return {
    id,
    '@timestamp': at,
    created_at: at,
    rule: {
      id: o.rule ?? 'rule-ssh',
      title: `Rule ${o.rule ?? 'rule-ssh'}`,
      level: o.level ?? 'medium',
      version: 'v1',
      tags: o.tags ?? ['attack.credential-access', 'attack.t1110'],
    },
    entity: `source.ip:${ip}`,
    event_ids: [`ev-${id}`],
    event: {
      '@timestamp': at,
      event: { id: `ev-${id}`, created: at },
      source: { ip },
      ...(o.unit
        ? {
            citysoc: {
              unit: {
                id: o.unit[o.unit.length - 1] as string,
                name: o.unit.join('/'),
                path: o.unit,
                criticality: 'high',
              },
            },
          }
        : {}),
      ...(o.drillRun ? { tags: ['drill'], labels: { drill: o.drillRun } } : {}),
    },
  };
}

export function incidentGroupingContract(open: () => Promise<GroupingUnderTest>): void {
  let s: GroupingUnderTest;
  beforeEach(async () => {
    s = await open();
  });
  afterEach(async () => {
    await s.cleanup();
  });
  const W = 15 * 60_000;

  it('groups by rule and entity within the window, ignores redeliveries, raises severity', async () => {
    const a = await s.record(
      groupingAlert('a1', '2026-11-27T01:00:00.000Z', { unit: ['hanoi', 'ba-dinh'] }),
      W,
    );
    expect(a).toMatchObject({ created: true, duplicate: false, reopened: false });
    const b = await s.record(groupingAlert('a2', '2026-11-27T01:05:00.000Z', { level: 'high' }), W);
    expect(b).toEqual({ id: a.id, created: false, duplicate: false, reopened: false, severityRaised: true });
    expect(await s.record(groupingAlert('a2', '2026-11-27T01:05:00.000Z'), W)).toMatchObject({
      id: a.id,
      duplicate: true,
    });
    const other = await s.record(groupingAlert('a3', '2026-11-27T01:06:00.000Z', { ip: '198.51.100.8' }), W);
    expect(other.created).toBe(true);
    expect(other.id).not.toBe(a.id);
    const late = await s.record(groupingAlert('a4', '2026-11-27T02:00:00.000Z'), W);
    expect(late.created).toBe(true);
    expect(await s.get(a.id)).toEqual({
      status: 'new',
      severity: 'high',
      alert_count: 2,
      rule_ids: ['rule-ssh'],
      generation: 0,
      priority: 12,
      tags: [],
      unit_path: 'hanoi/ba-dinh',
      title: 'Rule rule-ssh — 198.51.100.7',
    });
  });

  it('reopens a resolved incident for an alert within the window, and follows duplicates', async () => {
    const a = await s.record(groupingAlert('b1', '2026-11-27T01:00:00.000Z'), W);
    await s.transition(a.id, { to: 'acknowledged' }, 'alice');
    await s.transition(a.id, { to: 'in_progress' }, 'alice');
    await s.transition(a.id, { to: 'resolved', reason: 'blocked' }, 'alice');
    const r = await s.record(groupingAlert('b2', '2026-11-27T01:10:00.000Z'), W);
    expect(r).toMatchObject({ id: a.id, reopened: true, created: false });
    expect(await s.get(a.id)).toMatchObject({ status: 'new', generation: 1, alert_count: 2 });
    const x = await s.record(groupingAlert('c1', '2026-11-27T03:00:00.000Z', { rule: 'rule-x' }), W);
    const y = await s.record(groupingAlert('c2', '2026-11-27T03:00:00.000Z', { rule: 'rule-y' }), W);
    await s.transition(y.id, { to: 'duplicate', duplicateOf: x.id, reason: 'same' }, 'bob');
    const z = await s.record(groupingAlert('c3', '2026-11-27T03:01:00.000Z', { rule: 'rule-y' }), W);
    expect(z).toMatchObject({ id: x.id, created: false });
    expect(await s.get(x.id)).toMatchObject({ alert_count: 2, rule_ids: ['rule-x', 'rule-y'] });
  });

  it('groups by entity alone under a policy that says so, and keeps drill marks', async () => {
    const policy: GroupingPolicy = { ...DEFAULT_GROUPING, keys: ['entity'], windowMs: W };
    const a = await s.record(
      groupingAlert('d1', '2026-11-27T04:00:00.000Z', { drillRun: 'd-RUN00001' }),
      policy,
    );
    const b = await s.record(groupingAlert('d2', '2026-11-27T04:01:00.000Z', { rule: 'rule-other' }), policy);
    expect(b.id).toBe(a.id);
    const got = await s.get(a.id);
    expect(got).toMatchObject({ alert_count: 2, rule_ids: ['rule-ssh', 'rule-other'] });
    expect(got?.tags).toEqual(['drill-mixed']);
  });
}
