import { type Alert, type EcsEvent } from '@citysoc/ecs';
import {
  assertTransition,
  canTransition,
  checkTransition,
  DEFAULT_GROUPING,
  entityOf,
  groupOf,
  groupingSpecFromObject,
  INCIDENT_STATUSES,
  type IncidentStatus,
  incidentIdFor,
  joinsIncident,
  maxSeverity,
  mitreFromTags,
  parseGroupingPolicy,
  placeAlert,
  priorityScore,
  queuePriority,
  TransitionArgumentError,
  TransitionError,
} from './index';

const ev = (extra: Partial<EcsEvent>): EcsEvent => ({
  '@timestamp': '2026-01-01T00:00:00.000Z',
  event: { id: 'e', created: 'x' },
  ...extra,
});

const ward = {
  id: 'phuc-xa',
  name: 'Phúc Xá',
  path: ['hanoi', 'ba-dinh', 'phuc-xa'],
  criticality: 'high' as const,
};

const alert = (rule: string, event: EcsEvent, entity = entityOf(event)): Alert => ({
  id: `a-${rule}`,
  '@timestamp': event['@timestamp'],
  created_at: event['@timestamp'],
  rule: { id: rule, title: `Rule ${rule}`, level: 'high', version: 'v1' },
  entity,
  event_ids: [event.event.id],
  event,
});

describe('entityOf', () => {
  it.each([
    [
      'prefers the source address',
      ev({ source: { ip: '10.1.2.3' }, host: { hostname: 'h' } }),
      'source.ip:10.1.2.3',
    ],
    ['falls back to the host name', ev({ host: { hostname: 'web1' } }), 'host.hostname:web1'],
    ['falls back to the user', ev({ user: { name: 'root' } }), 'user.name:root'],
    ['says unknown when nothing identifies the entity', ev({}), 'unknown'],
  ])('%s', (_n, event, expected) => expect(entityOf(event)).toBe(expected));
});

describe('placeAlert', () => {
  const open = { status: 'new' as const, firstSeenMs: 10_000, lastSeenMs: 20_000 };
  const closed = (status: IncidentStatus) => ({ ...open, status });
  it.each([
    ['joins inside the window after the last alert', open, 25_000, 'reopen', 'join'],
    ['joins a late alert from before the first one, within the window', open, 6_000, 'reopen', 'join'],
    ['joins an acknowledged incident', closed('acknowledged'), 25_000, 'reopen', 'join'],
    ['opens a new incident after the window', open, 30_001, 'reopen', 'open'],
    ['opens a new incident when none exists', undefined, 21_000, 'reopen', 'open'],
    ['reopens a resolved incident under policy reopen', closed('resolved'), 21_000, 'reopen', 'reopen'],
    ['attaches to a resolved incident under policy attach', closed('resolved'), 21_000, 'attach', 'attach'],
    ['opens a new incident after a resolved one under policy new', closed('resolved'), 21_000, 'new', 'open'],
    [
      'attaches to a false positive whatever the policy',
      closed('false_positive'),
      21_000,
      'reopen',
      'attach',
    ],
    ['hands a duplicate’s alert to the original', closed('duplicate'), 21_000, 'new', 'follow_duplicate'],
    [
      'opens a new incident when a resolved one is out of the window',
      closed('resolved'),
      40_000,
      'reopen',
      'open',
    ],
  ] as const)('%s', (_n, existing, t, policy, expected) =>
    expect(placeAlert(existing, t, 10_000, policy)).toBe(expected),
  );
  it('keeps the first-release helper: joins only open incidents', () => {
    expect(joinsIncident(open, 25_000, 10_000)).toBe(true);
    expect(joinsIncident(closed('resolved'), 21_000, 10_000)).toBe(false);
  });
});

describe('groupOf', () => {
  const ssh = ev({ source: { ip: '198.51.100.7' }, citysoc: { unit: ward } });
  const flow = ev({ source: { ip: '198.51.100.7' }, network: { transport: 'tcp' } });
  const nobody = ev({});
  it.each([
    [
      'rule + entity (default) keeps the first-release key',
      'keys=rule+entity',
      alert('r1', ssh),
      'r1|source.ip:198.51.100.7',
      /^Alerts of rule "Rule r1" \(r1\) about source\.ip:198\.51\.100\.7 within 15 min/,
    ],
    [
      'entity alone groups across rules and sources',
      'keys=entity',
      alert('r1', ssh),
      'entity=source.ip:198.51.100.7',
      /^Alerts of any rule about source\.ip:198\.51\.100\.7 within 15 min .*across rules/,
    ],
    [
      'rule + unit names the unit',
      'keys=rule+unit;window=60',
      alert('r1', ssh),
      'rule=r1|unit=hanoi/ba-dinh/phuc-xa',
      /^Alerts of rule "Rule r1" \(r1\) in Phúc Xá \(hanoi\/ba-dinh\/phuc-xa\) within 60 min/,
    ],
    [
      'an unknown entity never groups across rules',
      'keys=entity',
      alert('r2', nobody),
      'r2|unknown',
      /^Alerts of rule "Rule r2"/,
    ],
    [
      'configured entity fields pick the user before the address',
      'keys=entity;entity=user.name,source.ip',
      alert('r1', ev({ source: { ip: '10.0.0.1' }, user: { name: 'root' } })),
      'entity=user.name:root',
      /about user\.name:root/,
    ],
  ])('%s', (_n, spec, a, key, reason) => {
    const g = groupOf(a, parseGroupingPolicy(spec));
    expect(g.key).toBe(key);
    expect(g.reason).toMatch(reason);
  });
  it('puts a syslog alert and a flow alert about one address in one group under keys=entity', () => {
    const p = parseGroupingPolicy('keys=entity');
    expect(groupOf(alert('sshd_fail', ssh), p).key).toBe(groupOf(alert('flow_scan', flow), p).key);
    expect(groupOf(alert('sshd_fail', ssh), DEFAULT_GROUPING).key).not.toBe(
      groupOf(alert('flow_scan', flow), DEFAULT_GROUPING).key,
    );
  });
});

describe('parseGroupingPolicy', () => {
  it('overrides only what is listed', () => {
    const p = parseGroupingPolicy('window=30; reopen=attach');
    expect(p).toEqual({ ...DEFAULT_GROUPING, windowMs: 30 * 60_000, reopen: 'attach' });
  });
  it.each([
    ['keys=rule+host', /bad grouping keys/],
    ['keys=rule+rule', /repeated/],
    ['window=0', /bad grouping window/],
    ['reopen=sometimes', /bad re-open policy/],
    ['entity=source.ip;DROP', /bad grouping setting/],
    ['colour=blue', /unknown grouping setting/],
  ])('refuses %s', (spec, msg) => expect(() => parseGroupingPolicy(spec)).toThrow(msg));
});

describe('groupingSpecFromObject (YAML policy)', () => {
  it('reads the YAML form into the same policy as the variable', () => {
    const spec = groupingSpecFromObject({
      keys: ['entity', 'unit'],
      entity: ['source.ip', 'user.name'],
      window_minutes: 30,
      reopen: 'attach',
    });
    expect(parseGroupingPolicy(spec)).toEqual(
      parseGroupingPolicy('keys=entity+unit;entity=source.ip,user.name;window=30;reopen=attach'),
    );
  });
  it.each([
    [['entity'], /must be a mapping/],
    [{ keys: 'entity' }, /keys must be a list/],
    [{ window_minutes: '30' }, /window_minutes must be a number/],
    [{ colour: 'blue' }, /unknown grouping setting/],
    [{ reopen: 'attach;keys=rule' }, /bad grouping setting/],
  ])('refuses %j', (doc, msg) => expect(() => groupingSpecFromObject(doc)).toThrow(msg));
});

describe('ids and priorities', () => {
  it('gives the same incident id for the same group and first alert', () => {
    expect(incidentIdFor('r|e', 'a1')).toBe(incidentIdFor('r|e', 'a1'));
    expect(incidentIdFor('r|e', 'a1')).not.toBe(incidentIdFor('r|e', 'a2'));
  });
  it.each([
    ['critical', 'critical', 20],
    ['critical', 'low', 5],
    ['low', 'critical', 8],
    ['high', null, 8],
    ['informational', 'low', 1],
  ] as const)('severity %s × criticality %s = %d', (sev, crit, score) =>
    expect(priorityScore(sev, crit)).toBe(score),
  );
  it('orders the queue by the score, keeping 1 free for escalation', () => {
    expect(queuePriority('critical', 'critical')).toBe(2);
    expect(queuePriority('high', 'critical')).toBeLessThan(queuePriority('critical', 'low'));
    expect(queuePriority('low')).toBeLessThan(queuePriority('informational'));
    expect(maxSeverity('low', 'high')).toBe('high');
  });
});

describe('mitreFromTags', () => {
  it('reads tactics and techniques from Sigma tags and ignores the rest', () => {
    expect(
      mitreFromTags([
        'attack.credential-access',
        'attack.t1110.001',
        'attack.T1078',
        'cve.2021-44228',
        'attack.g0007',
      ]),
    ).toEqual({ tactics: ['credential-access'], techniques: ['T1078', 'T1110.001'] });
  });
});

describe('lifecycle', () => {
  const allowed: Array<[IncidentStatus, IncidentStatus]> = [
    ['new', 'acknowledged'],
    ['new', 'false_positive'],
    ['new', 'duplicate'],
    ['acknowledged', 'new'],
    ['acknowledged', 'in_progress'],
    ['acknowledged', 'false_positive'],
    ['acknowledged', 'duplicate'],
    ['in_progress', 'resolved'],
    ['in_progress', 'false_positive'],
    ['in_progress', 'duplicate'],
    ['resolved', 'in_progress'],
    ['false_positive', 'in_progress'],
    ['duplicate', 'in_progress'],
  ];
  const key = (a: string, b: string) => `${a}→${b}`;
  const allowedSet = new Set(allowed.map(([a, b]) => key(a, b)));
  const table = INCIDENT_STATUSES.flatMap((from) =>
    INCIDENT_STATUSES.map((to) => [from, to, allowedSet.has(key(from, to))] as const),
  );
  it.each(table)('%s → %s allowed: %s', (from, to, ok) => expect(canTransition(from, to)).toBe(ok));

  it('throws a coded error on a forbidden transition', () => {
    expect(() => assertTransition('new', 'resolved')).toThrow(TransitionError);
  });

  it.each([
    ['closing without a reason', { from: 'in_progress', to: 'resolved', id: 'i1' }, /reason is required/],
    ['reopening without a reason', { from: 'resolved', to: 'in_progress', id: 'i1' }, /reason is required/],
    [
      'a duplicate that names nothing',
      { from: 'new', to: 'duplicate', id: 'i1', reason: 'same' },
      /must name the incident/,
    ],
    [
      'a duplicate of itself',
      { from: 'new', to: 'duplicate', id: 'i1', reason: 'same', duplicateOf: 'i1' },
      /cannot duplicate itself/,
    ],
    [
      'duplicate_of with another status',
      { from: 'in_progress', to: 'resolved', id: 'i1', reason: 'x', duplicateOf: 'i2' },
      /only goes with status duplicate/,
    ],
  ] as const)('refuses %s with an argument error', (_n, req, msg) => {
    expect(() => checkTransition(req)).toThrow(TransitionArgumentError);
    expect(() => checkTransition(req)).toThrow(msg);
  });

  it.each([
    ['acknowledging without a reason', { from: 'new', to: 'acknowledged', id: 'i1' }],
    [
      'a duplicate with its original',
      { from: 'new', to: 'duplicate', id: 'i1', reason: 'same', duplicateOf: 'i0' },
    ],
  ] as const)('accepts %s', (_n, req) => expect(() => checkTransition(req)).not.toThrow());
});
