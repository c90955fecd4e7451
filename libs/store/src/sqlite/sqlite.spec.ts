import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { openControlStore, openEventStore, type ControlStore } from './control';
import { type SqliteEventStore } from './event-store';
import { DEFAULT_GROUPING } from '@citysoc/incidents';
import Database from 'better-sqlite3';
import { IncidentConflictError, IncidentNotFoundError, SqliteIncidentStore } from './incident-store';

const ev = (id: string, ts: string, message: string, extra: Partial<EcsEvent> = {}): EcsEvent => ({
  '@timestamp': ts,
  message,
  event: { id, created: ts },
  ...extra,
});

const alert = (
  id: string,
  ts: string,
  entity = 'source.ip:10.0.0.9',
  level: Alert['rule']['level'] = 'medium',
): Alert => ({
  id,
  '@timestamp': ts,
  created_at: ts,
  rule: { id: 'rule-1', title: 'SSH brute force', level, version: 'v1' },
  entity,
  event_ids: [`e-${id}`],
  event: ev(`e-${id}`, ts, 'x'),
});

let dir: string;
beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteEventStore', () => {
  let store: SqliteEventStore;
  beforeEach(async () => {
    store = openEventStore(dir);
  });
  afterEach(() => store.close());

  it('stores each event once however often it is inserted', async () => {
    const e = ev('a', '2026-11-27T01:00:00.000Z', 'hello');
    expect(await store.insertEvents([e, e])).toBe(1);
    expect(await store.insertEvents([e])).toBe(0);
    expect(await store.countEvents()).toBe(1);
    const [got] = (await store.searchEvents({})).items;
    expect(got?.event.ingested).toMatch(/^\d{4}-/);
  });

  it('finds events by words, by field and by time range, newest first', async () => {
    await store.insertEvents([
      ev('1', '2026-11-27T01:00:00.000Z', 'Failed password for root from 10.0.0.9', {
        source: { ip: '10.0.0.9' },
      }),
      ev('2', '2026-11-27T02:00:00.000Z', 'Accepted password for alice', { source: { ip: '10.0.0.7' } }),
      ev('3', '2026-11-27T03:00:00.000Z', 'Đăng nhập thất bại cho người dùng quản trị', {
        source: { ip: '10.0.0.9' },
      }),
    ]);
    const ids = async (q: Parameters<SqliteEventStore['searchEvents']>[0]) =>
      (await store.searchEvents(q)).items.map((e) => e.event.id);
    expect(await ids({ text: 'password' })).toEqual(['2', '1']);
    expect(await ids({ text: 'failed root' })).toEqual(['1']);
    expect(await ids({ text: 'dang nhap' })).toEqual(['3']);
    expect(await ids({ fields: { 'source.ip': '10.0.0.9' } })).toEqual(['3', '1']);
    expect(await ids({ from: '2026-11-27T01:30:00Z', to: '2026-11-27T03:00:00Z' })).toEqual(['2']);
    expect(await ids({ text: '" OR *' })).toEqual([]);
  });

  it('counts matching events per time bucket and the top values of fields', async () => {
    await store.insertEvents([
      ev('1', '2026-11-27T01:00:10.000Z', 'Failed password', { source: { ip: '10.0.0.9', port: 22 } }),
      ev('2', '2026-11-27T01:00:50.000Z', 'Failed password', { source: { ip: '10.0.0.9', port: 22 } }),
      ev('3', '2026-11-27T01:02:00.000Z', 'Failed password', { source: { ip: '10.0.0.7' } }),
      ev('4', '2026-11-27T01:02:30.000Z', 'Accepted password', { source: { ip: '10.0.0.8' } }),
    ]);
    const agg = await store.aggregateEvents({
      text: 'failed',
      intervalMs: 60_000,
      top: ['source.ip', 'source.port', 'destination.ip'],
    });
    expect(agg.total).toBe(3);
    expect(agg.histogram).toEqual([
      { start: '2026-11-27T01:00:00.000Z', count: 2 },
      { start: '2026-11-27T01:02:00.000Z', count: 1 },
    ]);
    expect(agg.top['source.ip']).toEqual([
      { value: '10.0.0.9', count: 2 },
      { value: '10.0.0.7', count: 1 },
    ]);
    expect(agg.top['source.port']).toEqual([{ value: '22', count: 2 }]);
    expect(agg.top['destination.ip']).toEqual([]);
    const narrowed = await store.aggregateEvents({
      fields: { 'source.ip': '10.0.0.7' },
      from: '2026-11-27T01:01:00Z',
      intervalMs: 60_000,
      top: [],
    });
    expect(narrowed.total).toBe(1);
    await expect(store.aggregateEvents({ intervalMs: 10, top: [] })).rejects.toThrow(/intervalMs/);
    await expect(store.aggregateEvents({ intervalMs: 60_000, top: ["x') --"] })).rejects.toThrow(
      /invalid field name/,
    );
  });

  it('pages with a cursor without repeating or skipping', async () => {
    const events = Array.from({ length: 25 }, (_, i) =>
      ev(`id${String(i).padStart(2, '0')}`, `2026-11-27T01:00:${String(i).padStart(2, '0')}.000Z`, `m${i}`),
    );
    await store.insertEvents(events);
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const p = await store.searchEvents({ limit: 10, ...(after ? { after } : {}) });
      seen.push(...p.items.map((e) => e.event.id));
      after = p.next;
    } while (after);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  it('rejects field names that are not plain ECS paths', async () => {
    await expect(store.searchEvents({ fields: { "a') OR 1=1 --": 'x' } })).rejects.toThrow(
      /invalid field name/,
    );
  });

  it('stores alerts once and filters them by rule', async () => {
    expect(
      await store.insertAlerts([alert('a1', '2026-11-27T01:00:00Z'), alert('a1', '2026-11-27T01:00:00Z')]),
    ).toBe(1);
    expect((await store.listAlerts({ ruleId: 'rule-1' })).items).toHaveLength(1);
    expect((await store.listAlerts({ ruleId: 'other' })).items).toHaveLength(0);
    expect((await store.getAlert('a1'))?.rule.title).toBe('SSH brute force');
  });
});

describe('SqliteIncidentStore', () => {
  let control: ControlStore;
  let incidents: SqliteIncidentStore;
  beforeEach(async () => {
    control = openControlStore(dir);
    incidents = new SqliteIncidentStore(control.db);
  });
  afterEach(() => control.close());
  const windowMs = 15 * 60_000;

  it('groups alerts of one rule about one entity within the window into one incident', async () => {
    const a = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    const b = await incidents.recordAlert(alert('a2', '2026-11-27T01:10:00Z', undefined, 'high'), windowMs);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.incident.id).toBe(a.incident.id);
    expect(b.incident.alert_count).toBe(2);
    expect(b.incident.severity).toBe('high');
    expect(await incidents.alertIds(a.incident.id)).toEqual(['a1', 'a2']);
  });

  it('opens a new incident for another entity or after the window', async () => {
    const a = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    const other = await incidents.recordAlert(
      alert('a2', '2026-11-27T01:01:00Z', 'source.ip:10.9.9.9'),
      windowMs,
    );
    const later = await incidents.recordAlert(alert('a3', '2026-11-27T02:00:00Z'), windowMs);
    expect(new Set([a.incident.id, other.incident.id, later.incident.id]).size).toBe(3);
  });

  it('treats a redelivered alert as a duplicate that changes nothing', async () => {
    const a = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    const again = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    expect(again.duplicate).toBe(true);
    expect(again.incident.alert_count).toBe(1);
    expect((await incidents.list({})).items).toHaveLength(1);
    expect(again.incident.id).toBe(a.incident.id);
  });

  it('lets one responder claim a new incident and refuses a second claim', async () => {
    const { incident } = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    expect((await incidents.claim(incident.id, 'alice')).assignee).toBe('alice');
    await expect(incidents.claim(incident.id, 'bob')).rejects.toThrow(IncidentConflictError);
    await incidents.transition(incident.id, { to: 'in_progress' }, 'alice');
    const resolved = await incidents.transition(
      incident.id,
      { to: 'resolved', reason: 'blocked at the firewall' },
      'alice',
    );
    expect(resolved).toMatchObject({ status: 'resolved', reason: 'blocked at the firewall' });
    expect(resolved.closed_at).not.toBeNull();
    expect((await incidents.notes(incident.id)).map((n) => n.to_status)).toEqual([
      'new',
      'acknowledged',
      'in_progress',
      'resolved',
    ]);
    await expect(incidents.transition(incident.id, { to: 'acknowledged' }, 'alice')).rejects.toThrow(
      /cannot go from resolved to acknowledged/,
    );
  });

  it('keeps each call atomic when callers do not wait for one another', async () => {
    const { incident } = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    // Two responders claim at once: one wins, the other is refused, never both.
    const claims = await Promise.allSettled([
      incidents.claim(incident.id, 'alice'),
      incidents.claim(incident.id, 'bob'),
    ]);
    expect(claims.map((c) => c.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = claims.find((c) => c.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(IncidentConflictError);
    // Alerts of one group recorded concurrently land in one incident, each counted once.
    const more = await Promise.all(
      ['a2', 'a3', 'a4', 'a2'].map((id) =>
        incidents.recordAlert(alert(id, '2026-11-27T01:01:00Z'), windowMs),
      ),
    );
    expect(new Set(more.map((r) => r.incident.id))).toEqual(new Set([incident.id]));
    expect(more.map((r) => r.duplicate)).toEqual([false, false, false, true]);
    expect((await incidents.get(incident.id))!.alert_count).toBe(4);
  });

  it('takes over a claim whose lock expired, and only then', async () => {
    let now = 1_000_000;
    const incidents = new SqliteIncidentStore(control.db, () => now);
    const { incident } = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    await incidents.claim(incident.id, 'alice', { token: 't1', lockMs: 60_000 });
    now += 30_000;
    await expect(incidents.claim(incident.id, 'bob', { token: 't2', lockMs: 60_000 })).rejects.toThrow(
      IncidentConflictError,
    );
    await incidents.renewClaim(incident.id, 'alice', 60_000);
    now += 59_000;
    await expect(incidents.claim(incident.id, 'bob', { token: 't2', lockMs: 60_000 })).rejects.toThrow(
      IncidentConflictError,
    );
    now += 2_000;
    expect((await incidents.claim(incident.id, 'bob', { token: 't2', lockMs: 60_000 })).assignee).toBe('bob');
    await expect(incidents.renewClaim(incident.id, 'alice', 60_000)).rejects.toThrow(/not claimed by alice/);
    // Work started and the holder went silent: taken over, still in progress.
    await incidents.transition(incident.id, { to: 'in_progress' }, 'bob');
    now += 61_000;
    expect(await incidents.claim(incident.id, 'carol', { token: 't3', lockMs: 60_000 })).toMatchObject({
      status: 'in_progress',
      assignee: 'carol',
    });
    // A closed incident is never claimed, lapsed lock or not.
    await incidents.transition(incident.id, { to: 'resolved', reason: 'done' }, 'carol');
    now += 61_000;
    await expect(incidents.claim(incident.id, 'dave')).rejects.toThrow(IncidentConflictError);
  });

  it('closes as duplicate only naming a visible original, and passes later alerts to it', async () => {
    const first = await incidents.recordAlert(
      alert('a1', '2026-11-27T01:00:00Z', 'source.ip:10.0.0.1'),
      windowMs,
    );
    const second = await incidents.recordAlert(
      alert('a2', '2026-11-27T01:00:00Z', 'source.ip:10.0.0.2'),
      windowMs,
    );
    await expect(
      incidents.transition(second.incident.id, { to: 'duplicate', reason: 'same', duplicateOf: 'nope' }, 'x'),
    ).rejects.toThrow(IncidentNotFoundError);
    const dup = await incidents.transition(
      second.incident.id,
      { to: 'duplicate', reason: 'same attacker behind NAT', duplicateOf: first.incident.id },
      'alice',
    );
    expect(dup).toMatchObject({ status: 'duplicate', duplicate_of: first.incident.id });
    const late = await incidents.recordAlert(
      alert('a3', '2026-11-27T01:01:00Z', 'source.ip:10.0.0.2'),
      windowMs,
    );
    expect(late.incident.id).toBe(first.incident.id);
    expect(late.incident.alert_count).toBe(2);
  });

  it.each([
    ['reopen', 'new', true, 1],
    ['attach', 'resolved', false, 1],
    ['new', 'new', false, 2],
  ] as const)('applies re-open policy %s to a late alert', async (reopen, status, reopened, count) => {
    const policy = { ...DEFAULT_GROUPING, windowMs, reopen };
    const { incident } = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), policy);
    await incidents.claim(incident.id, 'alice');
    await incidents.transition(incident.id, { to: 'in_progress' }, 'alice');
    await incidents.transition(incident.id, { to: 'resolved', reason: 'done' }, 'alice');
    const late = await incidents.recordAlert(alert('a2', '2026-11-27T01:03:00Z'), policy);
    expect(late.incident.status).toBe(status);
    expect(late.reopened).toBe(reopened);
    expect((await incidents.list({})).items).toHaveLength(count);
    if (reopened) {
      expect(late.incident).toMatchObject({ generation: 1, assignee: null, queued: false, reason: null });
      // Replaying the alert changes nothing.
      expect((await incidents.recordAlert(alert('a2', '2026-11-27T01:03:00Z'), policy)).duplicate).toBe(true);
    }
  });

  it('carries unit, criticality-weighted priority, ATT&CK and rule provenance', async () => {
    const a = alert('a1', '2026-11-27T01:00:00Z', 'source.ip:10.0.0.1', 'high');
    a.rule = {
      ...a.rule,
      author: 'citysoc',
      license: 'DRL-1.1',
      tags: ['attack.credential-access', 'attack.t1110'],
    };
    a.event = {
      ...a.event,
      citysoc: {
        unit: {
          id: 'phuc-xa',
          name: 'Phúc Xá',
          path: ['hanoi', 'ba-dinh', 'phuc-xa'],
          criticality: 'critical',
        },
      },
    };
    const { incident } = await incidents.recordAlert(a, windowMs);
    expect(incident).toMatchObject({
      priority: 16,
      rule_author: 'citysoc',
      rule_license: 'DRL-1.1',
      mitre: { tactics: ['credential-access'], techniques: ['T1110'] },
      unit: { id: 'phuc-xa', path: 'hanoi/ba-dinh/phuc-xa', criticality: 'critical' },
    });
    expect(await incidents.get(incident.id, 'hanoi/ba-dinh')).toBeDefined();
    expect(await incidents.get(incident.id, 'hanoi/ba-dinh-2')).toBeUndefined();
    expect(await incidents.get(incident.id, 'hanoi/dong-da')).toBeUndefined();
    expect((await incidents.list({ scope: 'hanoi/dong-da' })).items).toEqual([]);
    await expect(incidents.comment(incident.id, 'eve', 'hi', 'hanoi/dong-da')).rejects.toThrow(
      IncidentNotFoundError,
    );
    await incidents.comment(incident.id, 'alice', 'looking', 'hanoi');
    await incidents.setTags(incident.id, ['bruteforce', 'ssh'], [], 'alice');
    expect((await incidents.list({ tag: 'ssh' })).items.map((i) => i.id)).toEqual([incident.id]);
    expect(await incidents.comments(incident.id)).toMatchObject([{ actor: 'alice', text: 'looking' }]);
    expect(await incidents.slaReport({ scope: 'hanoi' })).toMatchObject([
      { unit_path: 'hanoi/ba-dinh/phuc-xa', severity: 'high', incidents: 1, open: 1 },
    ]);
  });

  it('lists incidents that still need a queue job until they are marked queued', async () => {
    const { incident } = await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    expect((await incidents.listUnqueued()).map((i) => i.id)).toEqual([incident.id]);
    await incidents.markQueued(incident.id);
    expect(await incidents.listUnqueued()).toEqual([]);
  });
});

describe('auth and audit', () => {
  let control: ControlStore;
  beforeEach(async () => {
    control = openControlStore(dir);
  });
  afterEach(() => control.close());

  it('verifies issued tokens and forgets revoked ones', async () => {
    expect(control.auth.hasActiveAdmin()).toBe(false);
    const { token, principal } = control.auth.createToken('bootstrap', 'admin');
    expect(control.auth.hasActiveAdmin()).toBe(true);
    expect(control.auth.verify(token)?.role).toBe('admin');
    expect(control.auth.verify(token + 'x')).toBeUndefined();
    control.auth.revoke(principal.id);
    expect(control.auth.verify(token)).toBeUndefined();
  });

  it('detects an edited audit entry', async () => {
    for (let i = 0; i < 5; i++)
      control.audit.append({
        actor: 'alice',
        action: 'incident.claim',
        target: `inc${i}`,
        outcome: 'success',
      });
    expect(control.audit.verify()).toEqual({ ok: true, entries: 5 });
    control.db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").run();
    expect(control.audit.verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('detects a deleted audit entry at the entry after the gap', async () => {
    for (let i = 0; i < 5; i++)
      control.audit.append({ actor: 'alice', action: 'x', target: `t${i}`, outcome: 'success' });
    control.db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    expect(control.audit.verify()).toEqual({ ok: false, entries: 1, brokenAt: 3 });
  });
});

describe('migrating incidents of the first release', () => {
  it('maps claimed to acknowledged and closed to resolved, keeping every row', async () => {
    // The first release's schema: the first four migrations, with rows in the old states.
    const file = path.join(dir, 'citysoc.sqlite');
    const control = openControlStore(dir);
    const incidents = new SqliteIncidentStore(control.db);
    await incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z', 'source.ip:10.0.0.1'), 60_000);
    await incidents.recordAlert(alert('a2', '2026-11-27T01:00:00Z', 'source.ip:10.0.0.2'), 60_000);
    control.close();
    const db = new Database(file);
    // Roll the file back to the first release: drop what the later migrations added.
    db.exec(`DELETE FROM schema_migrations WHERE version > 4;
      DROP TABLE incident_comments; DROP TABLE sessions; DROP TABLE users;
      DROP TABLE report_versions; DROP TABLE report_deliveries; DROP TABLE report_sent_objects;
      DROP TABLE report_state; DROP TABLE report_annotations; DROP TABLE iocs; DROP TABLE saved_views;
      DROP TABLE incident_evidence; DROP TABLE bulk_jobs;
      DROP INDEX incidents_unit; DROP INDEX incidents_status;
      ALTER TABLE api_tokens DROP COLUMN unit_path;`);
    for (const c of [
      'reason',
      'duplicate_of',
      'tags',
      'mitre',
      'rule_author',
      'rule_license',
      'unit_id',
      'unit_name',
      'unit_path',
      'unit_criticality',
      'priority',
      'generation',
      'claim_token',
      'claim_expires_at',
      'acknowledged_at',
      'closed_at',
      'reopened_at',
      'split_from',
    ])
      db.exec(`ALTER TABLE incidents DROP COLUMN ${c}`);
    db.exec(`UPDATE incidents SET status = 'claimed' WHERE entity = 'source.ip:10.0.0.1';
      UPDATE incidents SET status = 'closed' WHERE entity = 'source.ip:10.0.0.2';
      INSERT INTO incident_history (incident_id, at, actor, from_status, to_status, note)
        SELECT id, 1, 'alice', 'new', status, 'old' FROM incidents;`);
    db.close();
    const again = openControlStore(dir);
    try {
      const byEntity = Object.fromEntries(
        (await new SqliteIncidentStore(again.db).list({})).items.map((i) => [i.entity, i]),
      );
      expect(byEntity['source.ip:10.0.0.1']).toMatchObject({ status: 'acknowledged', priority: 6 });
      expect(byEntity['source.ip:10.0.0.2']).toMatchObject({ status: 'resolved' });
      expect(byEntity['source.ip:10.0.0.2']!.closed_at).not.toBeNull();
      const notes = await new SqliteIncidentStore(again.db).notes(byEntity['source.ip:10.0.0.1']!.id);
      expect(notes.map((n) => n.to_status)).toEqual(['new', 'acknowledged']);
    } finally {
      again.close();
    }
  });
});

describe('users and sessions', () => {
  const policy = { maxFailures: 3, lockoutMs: 60_000, sessionMs: 60_000 };
  it('logs in with the right password, locks after repeated failures, and expires sessions', async () => {
    let now = 5_000_000;
    const control = openControlStore(dir);
    try {
      const { SqliteAuthStore } = await import('./auth-store');
      const auth = new SqliteAuthStore(control.db, () => now);
      const u = await auth.createUser({
        username: 'lan',
        password: 'correct horse battery',
        role: 'responder',
        unit: 'hanoi/ba-dinh',
      });
      expect(u).toMatchObject({ username: 'lan', role: 'responder', unit: 'hanoi/ba-dinh' });
      const row = control.db.prepare('SELECT password_hash, password_params FROM users').get() as Record<
        string,
        string
      >;
      expect(row.password_hash).not.toContain('correct');
      expect(JSON.parse(row.password_params!)).toMatchObject({ N: 32768, r: 8, p: 1 });
      await expect(
        auth.createUser({ username: 'lan', password: 'another long one', role: 'analyst' }),
      ).rejects.toThrow(/exists/);
      await expect(auth.createUser({ username: 'x', password: 'short', role: 'analyst' })).rejects.toThrow(
        /at least 12/,
      );

      const ok = await auth.login('lan', 'correct horse battery', policy);
      if (!ok.ok) throw new Error('login failed');
      expect(auth.verify(ok.token)).toMatchObject({
        name: 'lan',
        role: 'responder',
        unit: 'hanoi/ba-dinh',
        kind: 'session',
      });
      expect(await auth.login('nobody', 'whatever', policy)).toEqual({
        ok: false,
        reason: 'invalid_credentials',
      });
      expect(await auth.login('lan', 'wrong 1', policy)).toMatchObject({
        ok: false,
        reason: 'invalid_credentials',
      });
      expect(await auth.login('lan', 'wrong 2', policy)).toMatchObject({
        ok: false,
        reason: 'invalid_credentials',
      });
      expect(await auth.login('lan', 'wrong 3', policy)).toMatchObject({ ok: false, reason: 'locked' });
      expect(await auth.login('lan', 'correct horse battery', policy)).toMatchObject({
        ok: false,
        reason: 'locked',
      });
      now += 61_000;
      expect(auth.verify(ok.token)).toBeUndefined();
      const again = await auth.login('lan', 'correct horse battery', policy);
      expect(again.ok).toBe(true);
      auth.disableUser(u.id);
      if (again.ok) expect(auth.verify(again.token)).toBeUndefined();
    } finally {
      control.close();
    }
  }, 30_000);
});
