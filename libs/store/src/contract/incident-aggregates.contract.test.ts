import { type SlaDeadline } from '@citysoc/incidents';
import {
  type IncidentDashboard,
  type IncidentMitreCounts,
  type RuleIncidentStats,
  type UnitIncidentRow,
} from '../incident-aggregates-port';
import { type IncidentStore, type TransitionInput } from '../incident-port';
import { groupingAlert } from './incident-grouping.contract.test';
import { type IncidentStoreUnderTest, T0, type TestClock } from './incident-store.contract.test';

/**
 * The statistics of the incident port (IncidentAggregates), run on SQLite (the reference) and on
 * Elasticsearch (the FakeCluster; a real cluster when ELASTICSEARCH_URL is set). One realistic mix is seeded
 * the same way on every store — units at several levels (and a sibling whose name shares a prefix), no
 * unit, a pure drill, a mixed drill+real incident, closed and false-positive ones, breaches of both kinds,
 * ATT&CK tags, deadlines around the breach window, an incident older than the dashboard's day — and every
 * scope below must give exactly the figures worked out by hand in the table.
 */

const MIN = 60_000;
const NOW = T0 + 120 * MIN;
const SINCE = NOW - 24 * 3600_000;
const DUE_BEFORE = NOW + 30 * MIN;
const at = (ms: number) => new Date(ms).toISOString();

interface Seeded {
  /** Incident id by seed name. */
  id: Record<string, string>;
}

/**
 * The mix (minutes after T0; statuses at NOW):
 * - A r-ssh, hanoi/ba-dinh, high, 3 alerts, new; ack due NOW+10, resolve NOW+200; acknowledge breach
 * - B r-web, hanoi/ba-dinh/phuc-xa, medium, T1110+T1190 initial-access, resolved; ack due NOW-60
 * - C r-ssh, hanoi/hoan-kiem, low, 2 alerts, false positive
 * - D r-scan, no unit, critical, discovery T1046+T1595, in progress; resolve due NOW+5; both breaches
 * - E r-ssh, hanoi/ba-dinh, high, 2 alerts, a pure DRILL, new; ack due NOW+20; both breaches
 * - F r-web, hanoi/ba-dinh, a drill alert then a real one (mixed = real), new, no deadline
 * - G r-web, hanoi/ba-dinh, opened 30 h before T0, acknowledged; resolve due NOW+1; resolve breach
 * - H r-x, hanoi-old (not under hanoi), duplicate of A
 * - I r-dns, hanoi/hoan-kiem, low, no ATT&CK tags, new; only resolve due NOW+15 (the due falls back to it)
 * - J r-dns, hanoi/hoan-kiem, low, no tags, new; ack due NOW+100, resolve NOW+5 (ack counts while new)
 */
async function seed(store: IncidentStore, clock: TestClock): Promise<Seeded> {
  const id: Record<string, string> = {};
  const alert = async (
    name: string,
    alertId: string,
    ms: number,
    o: Parameters<typeof groupingAlert>[2],
  ): Promise<void> => {
    clock.ms = ms;
    const r = await store.recordAlert(groupingAlert(alertId, at(ms), o), 15 * MIN);
    id[name] ??= r.incident.id;
    expect(r.incident.id).toBe(id[name]);
  };
  const m = (min: number) => T0 + min * MIN;
  const ssh = { rule: 'r-ssh' };
  const web = { rule: 'r-web' };
  for (const [i, t] of [0, 1, 2].entries())
    await alert('A', `a${i}`, m(t), { ...ssh, ip: '10.0.0.1', unit: ['hanoi', 'ba-dinh'], level: 'high' });
  await alert('B', 'b0', m(5), {
    ...web,
    ip: '10.0.0.2',
    unit: ['hanoi', 'ba-dinh', 'phuc-xa'],
    tags: ['attack.initial-access', 'attack.t1190', 'attack.t1110'],
  });
  for (const [i, t] of [10, 11].entries())
    await alert('C', `c${i}`, m(t), { ...ssh, ip: '10.0.0.3', unit: ['hanoi', 'hoan-kiem'], level: 'low' });
  await alert('D', 'd0', m(20), {
    rule: 'r-scan',
    ip: '10.0.0.4',
    level: 'critical',
    tags: ['attack.discovery', 'attack.t1046', 'attack.t1595'],
  });
  for (const [i, t] of [30, 31].entries())
    await alert('E', `e${i}`, m(t), {
      ...ssh,
      ip: '10.0.0.5',
      unit: ['hanoi', 'ba-dinh'],
      level: 'high',
      drillRun: 'd-AGGR0001',
    });
  await alert('F', 'f0', m(40), {
    ...web,
    ip: '10.0.0.6',
    unit: ['hanoi', 'ba-dinh'],
    drillRun: 'd-AGGR0001',
  });
  await alert('F', 'f1', m(41), { ...web, ip: '10.0.0.6', unit: ['hanoi', 'ba-dinh'] });
  await alert('G', 'g0', T0 - 30 * 3600_000, { ...web, ip: '10.0.0.7', unit: ['hanoi', 'ba-dinh'] });
  await alert('H', 'h0', m(50), { rule: 'r-x', ip: '10.0.0.8', unit: ['hanoi-old'] });
  await alert('I', 'i0', m(60), {
    rule: 'r-dns',
    ip: '10.0.0.9',
    unit: ['hanoi', 'hoan-kiem'],
    level: 'low',
    tags: [],
  });
  await alert('J', 'j0', m(61), {
    rule: 'r-dns',
    ip: '10.0.0.10',
    unit: ['hanoi', 'hoan-kiem'],
    level: 'low',
    tags: [],
  });

  clock.ms = m(100);
  const go = async (name: string, ...steps: TransitionInput[]) => {
    for (const s of steps) await store.transition(id[name]!, s, 'alice');
  };
  await go('B', { to: 'acknowledged' }, { to: 'in_progress' }, { to: 'resolved', reason: 'blocked' });
  await go('C', { to: 'false_positive', reason: 'scanner of ours' });
  await go('D', { to: 'acknowledged' }, { to: 'in_progress' });
  await go('G', { to: 'acknowledged' });
  await go('H', { to: 'duplicate', reason: 'same attack', duplicateOf: id['A']! });
  const due = (name: string, ack: number | null, resolve: number | null) => {
    const d: SlaDeadline[] = [];
    if (ack !== null) d.push({ kind: 'acknowledge', dueMs: NOW + ack * MIN });
    if (resolve !== null) d.push({ kind: 'resolve', dueMs: NOW + resolve * MIN });
    return store.setSlaDeadlines(id[name]!, d);
  };
  await due('A', 10, 200);
  await due('B', -60, null);
  await due('D', null, 5);
  await due('E', 20, null);
  await due('G', null, 1);
  await due('I', null, 15);
  await due('J', 100, 5);
  await store.recordSlaBreach(id['A']!, 'acknowledge', m(101));
  await store.recordSlaBreach(id['D']!, 'acknowledge', m(102));
  await store.recordSlaBreach(id['D']!, 'resolve', m(103));
  await store.recordSlaBreach(id['E']!, 'acknowledge', m(104));
  await store.recordSlaBreach(id['E']!, 'resolve', m(105));
  await store.recordSlaBreach(id['G']!, 'resolve', m(106));
  clock.ms = NOW;
  return { id };
}

type Rule = Omit<RuleIncidentStats, 'title'> & { of: string[] };
const rule = (
  rule_id: string,
  incidents: number,
  alerts: number,
  false_positive: number,
  closed: number,
  lastMin: number,
  of: string[],
): Rule => ({ rule_id, incidents, alerts, false_positive, closed, last_seen: T0 + lastMin * MIN, of });
const vol = (key: string, incidents: number, alerts: number) => ({ key, incidents, alerts });
const unit = (path: string, name: string | null, incidents: number, open: number, breached: number) =>
  ({ path, name, incidents, open, breached }) satisfies UnitIncidentRow;
const n = (key: string, incidents: number) => ({ key, incidents });
const status = (key: IncidentDashboard['by_status'][number]['key'], count: number) => ({ key, count });
const pair = (tactic: string, technique: string, incidents: number) => ({ tactic, technique, incidents });

// A unit's row counts that unit's incidents whatever the scope, which only chooses the rows that appear; so
// does a rule's row while all its incidents are in scope (r-ssh in hanoi/ba-dinh, without C, is not).
const UNIT = {
  none: unit('', null, 1, 1, 1),
  hanoiOld: unit('hanoi-old', 'hanoi-old', 1, 0, 0),
  baDinh: unit('hanoi/ba-dinh', 'hanoi/ba-dinh', 4, 4, 3),
  phucXa: unit('hanoi/ba-dinh/phuc-xa', 'hanoi/ba-dinh/phuc-xa', 1, 0, 0),
  hoanKiem: unit('hanoi/hoan-kiem', 'hanoi/hoan-kiem', 3, 2, 0),
};
const RULE = {
  ssh: rule('r-ssh', 2, 5, 1, 1, 11, ['A', 'C']),
  web: rule('r-web', 3, 4, 0, 1, 41, ['B', 'F', 'G']),
  dns: rule('r-dns', 2, 2, 0, 0, 61, ['I', 'J']),
  scan: rule('r-scan', 1, 1, 0, 0, 20, ['D']),
  x: rule('r-x', 1, 1, 0, 1, 50, ['H']),
};

const SCOPES: Array<{
  scope: string | undefined;
  dashboard: IncidentDashboard;
  units: UnitIncidentRow[];
  rules: Rule[];
  mitre: IncidentMitreCounts;
}> = [
  {
    scope: undefined,
    dashboard: {
      by_status: [
        status('acknowledged', 1),
        status('duplicate', 1),
        status('false_positive', 1),
        status('in_progress', 1),
        status('new', 5),
        status('resolved', 1),
      ],
      breaching_soon: 5, // A, D, E (drills stay in the work list), G, I
      sla: { incidents: 8, breached: 2 }, // not E (drill), not G (older than the day)
      by_severity: [vol('low', 3, 4), vol('medium', 3, 4), vol('high', 1, 3), vol('critical', 1, 1)],
      by_unit: [
        vol('hanoi/ba-dinh', 2, 5),
        vol('hanoi/hoan-kiem', 3, 4),
        vol('', 1, 1),
        vol('hanoi-old', 1, 1),
        vol('hanoi/ba-dinh/phuc-xa', 1, 1),
      ],
      by_rule: [
        vol('r-ssh', 2, 5),
        vol('r-web', 2, 3),
        vol('r-dns', 2, 2),
        vol('r-scan', 1, 1),
        vol('r-x', 1, 1),
      ],
    },
    units: [UNIT.none, UNIT.hanoiOld, UNIT.baDinh, UNIT.phucXa, UNIT.hoanKiem],
    rules: [RULE.ssh, RULE.web, RULE.dns, RULE.scan, RULE.x],
    mitre: {
      tactics: [n('credential-access', 6), n('discovery', 1), n('initial-access', 1)],
      techniques: [n('T1046', 1), n('T1110', 7), n('T1190', 1), n('T1595', 1)],
      pairs: [
        pair('credential-access', 'T1110', 6),
        pair('discovery', 'T1046', 1),
        pair('discovery', 'T1595', 1),
        pair('initial-access', 'T1110', 1),
        pair('initial-access', 'T1190', 1),
      ],
    },
  },
  {
    scope: 'hanoi',
    dashboard: {
      by_status: [
        status('acknowledged', 1),
        status('false_positive', 1),
        status('new', 5),
        status('resolved', 1),
      ],
      breaching_soon: 4,
      sla: { incidents: 6, breached: 1 },
      by_severity: [vol('low', 3, 4), vol('high', 1, 3), vol('medium', 2, 3)],
      by_unit: [vol('hanoi/ba-dinh', 2, 5), vol('hanoi/hoan-kiem', 3, 4), vol('hanoi/ba-dinh/phuc-xa', 1, 1)],
      by_rule: [vol('r-ssh', 2, 5), vol('r-web', 2, 3), vol('r-dns', 2, 2)],
    },
    units: [UNIT.baDinh, UNIT.phucXa, UNIT.hoanKiem],
    rules: [RULE.ssh, RULE.web, RULE.dns],
    mitre: {
      tactics: [n('credential-access', 5), n('initial-access', 1)],
      techniques: [n('T1110', 6), n('T1190', 1)],
      pairs: [
        pair('credential-access', 'T1110', 5),
        pair('initial-access', 'T1110', 1),
        pair('initial-access', 'T1190', 1),
      ],
    },
  },
  {
    scope: 'hanoi/ba-dinh',
    dashboard: {
      by_status: [status('acknowledged', 1), status('new', 3), status('resolved', 1)],
      breaching_soon: 3,
      sla: { incidents: 3, breached: 1 },
      // Equal alerts: key ascending.
      by_severity: [vol('high', 1, 3), vol('medium', 2, 3)],
      by_unit: [vol('hanoi/ba-dinh', 2, 5), vol('hanoi/ba-dinh/phuc-xa', 1, 1)],
      by_rule: [vol('r-ssh', 1, 3), vol('r-web', 2, 3)],
    },
    units: [UNIT.baDinh, UNIT.phucXa],
    rules: [RULE.web, rule('r-ssh', 1, 3, 0, 0, 2, ['A'])],
    mitre: {
      tactics: [n('credential-access', 4), n('initial-access', 1)],
      techniques: [n('T1110', 5), n('T1190', 1)],
      pairs: [
        pair('credential-access', 'T1110', 4),
        pair('initial-access', 'T1110', 1),
        pair('initial-access', 'T1190', 1),
      ],
    },
  },
  {
    scope: 'nowhere',
    dashboard: {
      by_status: [],
      breaching_soon: 0,
      sla: { incidents: 0, breached: 0 },
      by_severity: [],
      by_unit: [],
      by_rule: [],
    },
    units: [],
    rules: [],
    mitre: { tactics: [], techniques: [], pairs: [] },
  },
];

export function incidentAggregatesContract(
  open: (clock: TestClock) => Promise<IncidentStoreUnderTest>,
): void {
  let s: IncidentStoreUnderTest;
  let store: IncidentStore;
  let seeded: Seeded;
  const clock: TestClock = { ms: T0 };
  beforeAll(async () => {
    clock.ms = T0;
    s = await open(clock);
    store = s.store;
    seeded = await seed(store, clock);
    await s.settle();
  });
  afterAll(async () => {
    await s.cleanup();
  });

  /** MAX(title) of the rule's incidents, read through the store. */
  async function titleOf(names: string[]): Promise<string | null> {
    const titles: string[] = [];
    for (const name of names) titles.push((await store.get(seeded.id[name]!))!.title);
    return titles.reduce<string | null>((a, b) => (a === null || b > a ? b : a), null);
  }

  describe.each(SCOPES)('scope $scope', (c) => {
    it('dashboard: queue depth, breaching soon, the day’s SLA and volumes by severity, unit and rule', async () => {
      expect(await store.incidentDashboard({ scope: c.scope, since: SINCE, dueBefore: DUE_BEFORE })).toEqual(
        c.dashboard,
      );
    });

    it('units: incidents, open and breached per unit path (drills included)', async () => {
      expect(await store.incidentUnits(c.scope)).toEqual(c.units);
    });

    it('rule statistics: real incidents per rule, by alerts; a limit keeps the first rows', async () => {
      const want: RuleIncidentStats[] = [];
      for (const { of, ...r } of c.rules) want.push({ ...r, title: await titleOf(of) });
      expect(await store.incidentRuleStats(c.scope)).toEqual(want);
      expect(await store.incidentRuleStats(c.scope, 2)).toEqual(want.slice(0, 2));
    });

    it('ATT&CK: incidents per tactic, technique and (tactic, technique) pair', async () => {
      expect(await store.incidentMitre(c.scope)).toEqual(c.mitre);
    });
  });

  it('SLA breaches by kind and severity, real and drill apart (the mixed incident F has none)', async () => {
    expect(await store.slaBreachCounts()).toEqual({
      real: [
        { kind: 'acknowledge', severity: 'critical', n: 1 },
        { kind: 'acknowledge', severity: 'high', n: 1 },
        { kind: 'resolve', severity: 'critical', n: 1 },
        { kind: 'resolve', severity: 'medium', n: 1 },
      ],
      drill: [
        { kind: 'acknowledge', severity: 'high', n: 1 },
        { kind: 'resolve', severity: 'high', n: 1 },
      ],
    });
  });
}
