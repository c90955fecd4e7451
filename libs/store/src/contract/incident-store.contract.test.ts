import { TransitionError } from '@citysoc/incidents';
import { type IncidentStore } from '../incident-port';
import { type IncidentQuery } from '../ports';
import { IncidentConflictError, IncidentNotFoundError } from '../sqlite/incident-store';
import { groupingAlert } from './incident-grouping.contract.test';

/**
 * The whole incident port (IncidentStore), run on SQLite (the reference) and on Elasticsearch (through the
 * FakeCluster, and on a real cluster when ELASTICSEARCH_URL is set). Every store gets the same clock, the
 * same alerts and the same actions, and must answer the same incidents, notes, pages and reports.
 */
export interface IncidentStoreUnderTest {
  store: IncidentStore;
  /** Makes every write visible to searches (lists, the unqueued sweep, the SLA report); SQLite: nothing. */
  settle(): Promise<void>;
  cleanup(): Promise<void>;
}

/** The clock every store under test reads; tests move it. */
export interface TestClock {
  ms: number;
}

export const T0 = Date.parse('2026-11-27T01:00:00.000Z');
const W = 15 * 60_000;
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

export function incidentStoreContract(open: (clock: TestClock) => Promise<IncidentStoreUnderTest>): void {
  let s: IncidentStoreUnderTest;
  let store: IncidentStore;
  const clock: TestClock = { ms: T0 };
  beforeEach(async () => {
    clock.ms = T0;
    s = await open(clock);
    store = s.store;
  });
  afterEach(async () => {
    await s.cleanup();
  });

  /** Opens an incident with one alert (its own rule and address), `min` minutes after T0 on the clock. */
  async function opened(
    name: string,
    min: number,
    o: Parameters<typeof groupingAlert>[2] = {},
  ): Promise<string> {
    clock.ms = T0 + min * 60_000;
    const r = await store.recordAlert(
      groupingAlert(`al-${name}`, at(min), { rule: `rule-${name}`, ...o }),
      W,
    );
    expect(r.created).toBe(true);
    return r.incident.id;
  }

  it('records alerts: opens, joins, ignores redeliveries, raises severity, reopens', async () => {
    const first = await store.recordAlert(groupingAlert('a1', at(0), { unit: ['hanoi', 'ba-dinh'] }), W);
    expect(first).toMatchObject({ created: true, duplicate: false, reopened: false });
    expect(first.incident).toMatchObject({
      status: 'new',
      severity: 'medium',
      alert_count: 1,
      queued: false,
      generation: 0,
      unit: { id: 'ba-dinh', name: 'hanoi/ba-dinh', path: 'hanoi/ba-dinh', criticality: 'high' },
      first_seen: at(0),
      last_seen: at(0),
      created_at: at(0),
    });
    const id = first.incident.id;
    clock.ms = T0 + 5 * 60_000;
    const raised = await store.recordAlert(groupingAlert('a2', at(5), { level: 'high' }), W);
    expect(raised).toMatchObject({ created: false, duplicate: false, reopened: false, severityRaised: true });
    expect(raised.incident).toMatchObject({ id, severity: 'high', alert_count: 2, last_seen: at(5) });
    const again = await store.recordAlert(groupingAlert('a2', at(5), { level: 'high' }), W);
    expect(again).toMatchObject({ created: false, duplicate: true, reopened: false });
    expect(again.incident.alert_count).toBe(2);
    await store.transition(id, { to: 'acknowledged' }, 'alice');
    await store.transition(id, { to: 'in_progress' }, 'alice');
    await store.transition(id, { to: 'resolved', reason: 'blocked' }, 'alice');
    await store.markQueued(id);
    clock.ms = T0 + 10 * 60_000;
    const late = await store.recordAlert(groupingAlert('a3', at(10)), W);
    expect(late).toMatchObject({ created: false, reopened: true });
    expect(late.incident).toMatchObject({
      id,
      status: 'new',
      assignee: null,
      generation: 1,
      queued: false,
      closed_at: null,
      reopened_at: at(10),
      alert_count: 3,
    });
    expect(await store.alertIds(id)).toEqual(['a1', 'a2', 'a3']);
  });

  it('marks incidents queued; the unqueued sweep lists the others, oldest first', async () => {
    const a = await opened('q1', 0);
    const b = await opened('q2', 1);
    const c = await opened('q3', 2);
    await store.markQueued(b);
    await store.markQueued(b);
    await s.settle();
    expect((await store.listUnqueued()).map((i) => i.id)).toEqual([a, c]);
    expect((await store.listUnqueued(1)).map((i) => i.id)).toEqual([a]);
    expect((await store.get(b))?.queued).toBe(true);
  });

  it.each([
    [undefined, true],
    ['hanoi', true],
    ['hanoi/ba-dinh', true],
    ['hanoi/ba-dinh/x', false],
    ['hanoi/ba', false],
    ['hcm', false],
  ] as const)('get in scope %s: visible = %s', async (scope, visible) => {
    const id = await opened('g', 0, { unit: ['hanoi', 'ba-dinh'] });
    expect((await store.get(id, scope))?.id).toBe(visible ? id : undefined);
    const cityWide = await opened('g2', 1);
    expect((await store.get(cityWide, scope))?.id).toBe(scope === undefined ? cityWide : undefined);
    expect(await store.get('nope')).toBeUndefined();
  });

  describe('list', () => {
    /** Five incidents; their ids by name, for the table below. */
    let ids: Record<string, string>;
    beforeEach(async () => {
      ids = {
        a: await opened('a', 0, { unit: ['hanoi', 'ba-dinh'], level: 'high', ip: '10.0.0.1' }),
        b: await opened('b', 10, { unit: ['hanoi', 'dong-da'], ip: '10.0.0.2', tags: ['attack.t1110'] }),
        c: await opened('c', 20, { unit: ['hanoi', 'ba-dinh', 'x'], ip: '10.0.0.3' }),
        d: await opened('d', 30, { ip: '10.0.0.4', drillRun: 'd-RUN00001' }),
        e: await opened('e', 40, { unit: ['hcm'], level: 'critical', ip: '10.0.0.5' }),
      };
      clock.ms = T0 + 50 * 60_000;
      await store.transition(ids['b'] as string, { to: 'acknowledged' }, 'alice');
      await store.setTags(ids['c'] as string, ['phishing'], [], 'bob');
      await s.settle();
    });
    const cases: Array<[string, IncidentQuery, string[]]> = [
      ['everything, newest first', {}, ['e', 'd', 'c', 'b', 'a']],
      ['status', { status: 'acknowledged' }, ['b']],
      ['severity', { severity: 'high' }, ['a']],
      ['assignee', { assignee: 'alice' }, ['b']],
      ['unit subtree', { unit: 'hanoi/ba-dinh' }, ['c', 'a']],
      ['scope', { scope: 'hanoi' }, ['c', 'b', 'a']],
      ['scope and unit', { scope: 'hanoi', unit: 'hcm' }, []],
      ['tag', { tag: 'phishing' }, ['c']],
      ['drill tag', { tag: 'drill' }, ['d']],
      ['rule', { ruleId: 'rule-e' }, ['e']],
      ['entity', { entity: 'source.ip:10.0.0.2' }, ['b']],
      ['text in the title, any case', { text: 'RULE RULE-C' }, ['c']],
      ['text in the entity', { text: '10.0.0.' }, ['e', 'd', 'c', 'b', 'a']],
      ['text with wildcard characters is literal', { text: 'rule-*' }, []],
      ['activity from', { from: at(20) }, ['e', 'd', 'c']],
      ['activity to', { to: at(20) }, ['b', 'a']],
      ['activity window', { from: at(10), to: at(30) }, ['c', 'b']],
      ['a bad date is ignored', { from: 'yesterday' }, ['e', 'd', 'c', 'b', 'a']],
    ];
    it.each(cases)('%s', async (_name, q, want) => {
      const page = await store.list(q);
      expect(page.items.map((i) => i.id)).toEqual(want.map((n) => ids[n]));
      expect(page.next).toBeUndefined();
    });

    it('pages with a cursor that survives inserts, ties broken by id', async () => {
      clock.ms = T0 + 40 * 60_000;
      // Same creation time as e: the id decides.
      const f = await store.recordAlert(groupingAlert('al-f', at(40), { rule: 'rule-f', ip: '10.0.0.6' }), W);
      await s.settle();
      const all = (await store.list({})).items.map((i) => i.id);
      expect(all).toHaveLength(6);
      const seen: string[] = [];
      let page = await store.list({ limit: 2 });
      seen.push(...page.items.map((i) => i.id));
      await opened('late', 60);
      await s.settle();
      while (page.next) {
        page = await store.list({ limit: 2, after: page.next });
        seen.push(...page.items.map((i) => i.id));
      }
      expect(seen).toEqual(all);
      const [e, fid] = [ids['e'] as string, f.incident.id];
      expect(all.slice(0, 2)).toEqual(e > fid ? [e, fid] : [fid, e]);
      await expect(store.list({ after: 'garbage' })).rejects.toThrow();
      await expect(store.list({ limit: 0 })).rejects.toThrow();
    });
  });

  it('keeps alert ids by time, notes and comments in order', async () => {
    const id = await opened('n', 0);
    clock.ms = T0 + 60_000;
    await store.recordAlert(groupingAlert('n3', at(2), { rule: 'rule-n' }), W);
    await store.recordAlert(groupingAlert('n2', at(1), { rule: 'rule-n' }), W);
    expect(await store.alertIds(id)).toEqual(['al-n', 'n2', 'n3']);
    expect(await store.alertIds('nope')).toEqual([]);
    clock.ms = T0 + 5 * 60_000;
    expect(await store.comment(id, 'alice', 'first look')).toEqual({
      at: at(5),
      actor: 'alice',
      text: 'first look',
    });
    await store.comment(id, 'bob', 'second');
    expect((await store.comments(id)).map((c) => c.text)).toEqual(['first look', 'second']);
    const notes = await store.notes(id);
    expect(notes[0]).toMatchObject({ actor: 'system', from_status: null, to_status: 'new', at: at(0) });
    expect(notes).toHaveLength(1);
    await expect(store.comment(id, 'x', 'y', 'hanoi')).rejects.toBeInstanceOf(IncidentNotFoundError);
  });

  describe('claims', () => {
    it('takes a new incident, refuses a second claimant, takes over a lapsed lease', async () => {
      const id = await opened('c', 0);
      clock.ms = T0 + 60_000;
      const c = await store.claim(id, 'alice', { token: 't1', lockMs: 60_000 });
      expect(c).toMatchObject({
        status: 'acknowledged',
        assignee: 'alice',
        acknowledged_at: at(1),
        claim_expires_at: at(2),
      });
      await expect(store.claim(id, 'bob', { token: 't2', lockMs: 60_000 })).rejects.toBeInstanceOf(
        IncidentConflictError,
      );
      expect(await store.claimToken(id, 'alice')).toMatchObject({ token: 't1', incident: { id } });
      await expect(store.claimToken(id, 'bob')).rejects.toBeInstanceOf(IncidentConflictError);
      expect(await store.claimTokenFor(id)).toBe('t1');
      await expect(store.claimTokenFor(id, 'hanoi')).rejects.toBeInstanceOf(IncidentNotFoundError);
      clock.ms = T0 + 90_000;
      expect((await store.renewClaim(id, 'alice', 60_000)).claim_expires_at).toBe(
        new Date(T0 + 150_000).toISOString(),
      );
      await expect(store.renewClaim(id, 'bob', 60_000)).rejects.toBeInstanceOf(IncidentConflictError);
      await store.transition(id, { to: 'in_progress' }, 'alice');
      clock.ms = T0 + 10 * 60_000;
      const taken = await store.claim(id, 'bob', { token: 't2', lockMs: 60_000 });
      expect(taken).toMatchObject({ status: 'in_progress', assignee: 'bob', acknowledged_at: at(1) });
      expect(
        (await store.notes(id)).slice(1).map((n) => [n.actor, n.from_status, n.to_status, n.note]),
      ).toEqual([
        ['alice', 'new', 'acknowledged', 'claimed from the queue'],
        ['alice', 'acknowledged', 'in_progress', ''],
        ['bob', 'in_progress', 'in_progress', 'claimed from the queue (the claim of alice had lapsed)'],
      ]);
      await store.transition(id, { to: 'resolved', reason: 'done' }, 'bob');
      expect(await store.claimTokenFor(id)).toBeNull();
      await expect(store.claim(id, 'carol')).rejects.toBeInstanceOf(IncidentConflictError);
    });

    it('lets exactly one of two simultaneous claimants win', async () => {
      const id = await opened('race', 0);
      const results = await Promise.allSettled([
        store.claim(id, 'alice', { token: 'ta', lockMs: 60_000 }),
        store.claim(id, 'bob', { token: 'tb', lockMs: 60_000 }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]?.reason).toBeInstanceOf(IncidentConflictError);
      const winner = (won[0] as PromiseFulfilledResult<{ assignee: string | null }>).value.assignee;
      expect((await store.get(id))?.assignee).toBe(winner);
      expect((await store.notes(id)).filter((n) => n.note === 'claimed from the queue')).toHaveLength(1);
    });
  });

  it('transitions (status string or input), with the state before, and refuses what the lifecycle forbids', async () => {
    const id = await opened('t', 0);
    const other = await opened('t2', 1);
    clock.ms = T0 + 2 * 60_000;
    const { before, after } = await store.transitionWithBefore(id, { to: 'acknowledged' }, 'alice');
    expect(before).toMatchObject({ status: 'new', assignee: null });
    expect(after).toMatchObject({ status: 'acknowledged', assignee: 'alice', updated_at: at(2) });
    expect(await store.transition(id, 'in_progress', 'alice', 'on it')).toMatchObject({
      status: 'in_progress',
    });
    await expect(store.transition(id, 'new', 'alice', undefined, 'hcm')).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
    await expect(store.transition(other, { to: 'resolved', reason: 'x' }, 'u')).rejects.toBeInstanceOf(
      TransitionError,
    );
    expect(
      await store.transition(other, { to: 'duplicate', duplicateOf: id, reason: 'same' }, 'u'),
    ).toMatchObject({ status: 'duplicate', duplicate_of: id, reason: 'same', closed_at: at(2) });
    expect((await store.notes(id)).at(-1)).toMatchObject({
      from_status: 'acknowledged',
      to_status: 'in_progress',
      note: 'on it',
    });
  });

  /** Every human action leaves its line in the incident's notes, as SQLite writes it. */
  it.each([
    ['assign', async (id: string) => store.assign(id, 'bob', 'alice'), 'assigned to bob'],
    ['unassign', async (id: string) => store.assign(id, null, 'alice'), 'unassigned (was nobody)'],
    ['tags', async (id: string) => store.setTags(id, ['a', 'b'], ['c'], 'alice'), 'tags +a +b -c'],
    [
      'pin',
      async (id: string) => store.pinEvidence(id, { kind: 'event', ref: 'ev-1', note: 'the login' }, 'alice'),
      'pinned event ev-1: the login',
    ],
    ['transition', async (id: string) => store.transition(id, { to: 'acknowledged' }, 'alice'), ''],
  ] as const)('notes the %s action', async (_name, act, text) => {
    const id = await opened('h', 0);
    clock.ms = T0 + 60_000;
    await act(id);
    // Exactly one line, after the opening one, at the action's time.
    expect((await store.notes(id)).slice(1)).toEqual([
      expect.objectContaining({ actor: 'alice', note: text, at: at(1) }),
    ]);
    expect((await store.get(id))?.updated_at).toBe(at(1));
  });

  it('assigns open incidents only, and sets tags', async () => {
    const id = await opened('as', 0);
    expect(await store.assign(id, 'bob', 'alice')).toMatchObject({ assignee: 'bob' });
    expect((await store.assign(id, 'carol', 'alice')).assignee).toBe('carol');
    expect((await store.notes(id)).at(-1)?.note).toBe('assigned to carol (was bob)');
    expect((await store.setTags(id, ['x', 'a'], [], 'alice')).tags).toEqual(['a', 'x']);
    expect((await store.setTags(id, [], ['x'], 'alice')).tags).toEqual(['a']);
    await store.transition(id, { to: 'acknowledged' }, 'carol');
    await store.transition(id, { to: 'false_positive', reason: 'scanner' }, 'carol');
    await expect(store.assign(id, 'bob', 'alice')).rejects.toBeInstanceOf(IncidentConflictError);
  });

  it('keeps SLA deadlines and records each breach once per opening', async () => {
    const id = await opened('sla', 0);
    await store.setSlaDeadlines(id, [
      { kind: 'acknowledge', dueMs: T0 + 15 * 60_000 },
      { kind: 'resolve', dueMs: T0 + 240 * 60_000 },
    ]);
    expect((await store.get(id))?.sla).toEqual({
      acknowledge_due: at(15),
      resolve_due: at(240),
      breaches: [],
    });
    expect(await store.recordSlaBreach(id, 'acknowledge', T0 + 16 * 60_000)).toBe(true);
    expect(await store.recordSlaBreach(id, 'acknowledge', T0 + 17 * 60_000)).toBe(false);
    expect(await store.recordSlaBreach(id, 'acknowledge', T0 + 18 * 60_000, 1)).toBe(true);
    const got = await store.get(id);
    expect(got?.sla.breaches).toEqual([
      { kind: 'acknowledge', at: at(16) },
      { kind: 'acknowledge', at: at(18) },
    ]);
    expect(got?.updated_at).toBe(at(18));
    expect((await store.notes(id)).at(-1)).toMatchObject({
      actor: 'system',
      note: 'SLA breached: not acknowledged in time; escalated',
    });
    await expect(store.setSlaDeadlines('nope', [])).rejects.toBeInstanceOf(IncidentNotFoundError);
  });

  it('pins and unpins evidence', async () => {
    const id = await opened('ev', 0);
    clock.ms = T0 + 60_000;
    expect(await store.pinEvidence(id, { kind: 'alert', ref: 'al-ev', note: 'first' }, 'alice')).toEqual({
      kind: 'alert',
      ref_id: 'al-ev',
      note: 'first',
      actor: 'alice',
      at: at(1),
    });
    await expect(
      store.pinEvidence(id, { kind: 'alert', ref: 'someone-elses', note: 'x' }, 'alice'),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
    clock.ms = T0 + 2 * 60_000;
    await store.pinEvidence(id, { kind: 'event', ref: 'ev-9', note: 'login' }, 'bob');
    clock.ms = T0 + 3 * 60_000;
    await store.pinEvidence(id, { kind: 'alert', ref: 'al-ev', note: 'again' }, 'bob');
    expect((await store.evidence(id)).map((e) => [e.kind, e.ref_id, e.note, e.actor])).toEqual([
      ['event', 'ev-9', 'login', 'bob'],
      ['alert', 'al-ev', 'again', 'bob'],
    ]);
    expect(await store.unpinEvidence(id, 'event', 'ev-9', 'carol')).toMatchObject({
      note: 'login',
      actor: 'bob',
    });
    await expect(store.unpinEvidence(id, 'event', 'ev-9', 'carol')).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
    expect((await store.notes(id)).at(-1)).toMatchObject({ actor: 'carol', note: 'unpinned event ev-9' });
    await expect(
      store.pinEvidence(id, { kind: 'event', ref: 'x', note: 'y' }, 'alice', 'hanoi'),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
  });

  it('merges: alerts, pins and SLA move to the target, the sources become its duplicates', async () => {
    const t = await opened('mt', 0, { unit: ['hanoi'] });
    const a = await opened('ma', 1, { unit: ['hanoi'], level: 'critical' });
    const b = await opened('mb', 2, { unit: ['hanoi'] });
    clock.ms = T0 + 3 * 60_000;
    await store.recordAlert(groupingAlert('ma-2', at(3), { rule: 'rule-ma', unit: ['hanoi'] }), W);
    await store.pinEvidence(a, { kind: 'alert', ref: 'al-ma', note: 'key alert' }, 'alice');
    await store.setSlaDeadlines(t, [{ kind: 'acknowledge', dueMs: T0 + 30 * 60_000 }]);
    await store.setSlaDeadlines(a, [{ kind: 'acknowledge', dueMs: T0 + 20 * 60_000 }]);
    clock.ms = T0 + 5 * 60_000;
    await expect(store.merge(t, [t], 'x', 'alice')).rejects.toBeInstanceOf(IncidentConflictError);
    await expect(store.merge(t, [a], 'x', 'alice', 'hcm')).rejects.toBeInstanceOf(IncidentNotFoundError);
    const r = await store.merge(t, [a, b, a], 'same attacker', 'alice');
    expect(r.moved).toBe(3);
    expect(r.merged.map((m) => [m.id, m.status, m.alert_count])).toEqual([
      [a, 'new', 2],
      [b, 'new', 1],
    ]);
    expect(r.target).toMatchObject({
      id: t,
      alert_count: 4,
      severity: 'critical',
      first_seen: at(0),
      last_seen: at(3),
      rule_ids: ['rule-mt', 'rule-ma', 'rule-mb'],
      sla: { acknowledge_due: at(20) },
    });
    expect([...(await store.alertIds(t))].sort()).toEqual(['al-ma', 'al-mb', 'al-mt', 'ma-2']);
    expect(await store.alertIds(a)).toEqual([]);
    expect(await store.get(a)).toMatchObject({
      status: 'duplicate',
      duplicate_of: t,
      alert_count: 0,
      reason: 'same attacker',
    });
    expect((await store.evidence(t)).map((e) => e.ref_id)).toEqual(['al-ma']);
    expect(await store.evidence(a)).toEqual([]);
    expect((await store.notes(t)).at(-1)).toMatchObject({
      actor: 'alice',
      note: `merged ${a}, ${b} (3 alerts): same attacker`,
    });
    expect((await store.notes(b)).at(-1)).toMatchObject({
      from_status: 'new',
      to_status: 'duplicate',
      note: `merged into ${t}: same attacker`,
    });
    // A redelivered alert of a merged incident changes nothing and names the incident that holds it.
    const again = await store.recordAlert(
      groupingAlert('al-mb', at(2), { rule: 'rule-mb', unit: ['hanoi'] }),
      W,
    );
    expect(again).toMatchObject({ duplicate: true, incident: { id: t, alert_count: 4 } });
    await store.transition(t, { to: 'acknowledged' }, 'alice');
    await store.transition(t, { to: 'false_positive', reason: 'scan' }, 'alice');
    const c = await opened('mc', 6);
    await expect(store.merge(t, [c], 'x', 'alice')).rejects.toBeInstanceOf(IncidentConflictError);
  });

  it('splits: the alerts move to a new incident, at least one stays', async () => {
    const id = await opened('sp', 0, { unit: ['hanoi'] });
    for (const [n, min] of [
      ['sp-2', 1],
      ['sp-3', 2],
    ] as const) {
      clock.ms = T0 + min * 60_000;
      await store.recordAlert(groupingAlert(n, at(min), { rule: 'rule-sp', unit: ['hanoi'] }), W);
    }
    await store.pinEvidence(id, { kind: 'alert', ref: 'sp-3', note: 'odd one' }, 'alice');
    await store.pinEvidence(id, { kind: 'event', ref: 'ev-x', note: 'stays' }, 'alice');
    const summary = {
      severity: 'critical' as const,
      rule_ids: ['rule-sp'],
      mitre: { tactics: [], techniques: [] },
      title: 'The odd one',
    };
    clock.ms = T0 + 10 * 60_000;
    await expect(
      store.split(id, ['al-sp', 'sp-2', 'sp-3'], { moved: summary, kept: null }, 'x', 'alice'),
    ).rejects.toBeInstanceOf(IncidentConflictError);
    await expect(
      store.split(id, ['nope'], { moved: summary, kept: null }, 'x', 'alice'),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
    const r = await store.split(id, ['sp-3', 'sp-2'], { moved: summary, kept: null }, 'two hosts', 'alice');
    expect(r.created).toMatchObject({
      status: 'new',
      title: 'The odd one',
      severity: 'critical',
      alert_count: 2,
      first_seen: at(1),
      last_seen: at(2),
      split_from: id,
      group_key: `${r.source.group_key}|split`,
      grouping_reason: `split from ${id} by alice: two hosts`,
      unit: { path: 'hanoi' },
      queued: false,
      created_at: at(10),
    });
    expect(r.source).toMatchObject({
      id,
      alert_count: 1,
      first_seen: at(0),
      last_seen: at(0),
      severity: 'medium',
    });
    expect(await store.alertIds(r.created.id)).toEqual(['sp-2', 'sp-3']);
    expect(await store.alertIds(id)).toEqual(['al-sp']);
    expect((await store.evidence(r.created.id)).map((e) => e.ref_id)).toEqual(['sp-3']);
    expect((await store.evidence(id)).map((e) => e.ref_id)).toEqual(['ev-x']);
    expect(await store.notes(r.created.id)).toEqual([
      {
        at: at(10),
        actor: 'alice',
        from_status: null,
        to_status: 'new',
        note: `split from ${id} (2 alerts): two hosts`,
      },
    ]);
    expect((await store.notes(id)).at(-1)).toMatchObject({
      note: `split 2 alerts into ${r.created.id}: two hosts`,
    });
    // Later alerts of the group keep joining the original.
    clock.ms = T0 + 11 * 60_000;
    expect(
      (await store.recordAlert(groupingAlert('sp-4', at(11), { rule: 'rule-sp', unit: ['hanoi'] }), W))
        .incident.id,
    ).toBe(id);
  });

  it('reports SLA per unit and severity over real incidents created in the period', async () => {
    const a = await opened('r1', 0, { unit: ['hanoi'] });
    const b = await opened('r2', 0, { unit: ['hanoi'] });
    const c = await opened('r3', 0, { level: 'high' });
    await opened('r4', 0, { unit: ['hanoi'], drillRun: 'd-RUN00002' });
    await opened('r5', 120, { unit: ['hanoi'] });
    clock.ms = T0 + 6 * 60_000;
    await store.claim(a, 'alice');
    clock.ms = T0 + 9 * 60_000;
    await store.claim(b, 'bob');
    await store.recordSlaBreach(b, 'acknowledge', T0 + 8 * 60_000);
    clock.ms = T0 + 30 * 60_000;
    await store.transition(a, { to: 'in_progress' }, 'alice');
    await store.transition(a, { to: 'resolved', reason: 'fixed' }, 'alice');
    await store.recordSlaBreach(c, 'resolve', T0 + 29 * 60_000);
    await s.settle();
    expect(await store.slaReport({ from: T0, to: T0 + 60 * 60_000 })).toEqual([
      {
        unit_path: null,
        severity: 'high',
        incidents: 1,
        open: 1,
        acknowledge_breaches: 0,
        resolve_breaches: 1,
        mean_minutes_to_acknowledge: null,
        mean_minutes_to_close: null,
      },
      {
        unit_path: 'hanoi',
        severity: 'medium',
        incidents: 2,
        open: 1,
        acknowledge_breaches: 1,
        resolve_breaches: 0,
        mean_minutes_to_acknowledge: 7.5,
        mean_minutes_to_close: 30,
      },
    ]);
    expect((await store.slaReport({ scope: 'hanoi' })).map((r) => r.incidents)).toEqual([3]);
    expect(await store.slaReport({ scope: 'hcm' })).toEqual([]);
  });
}
