import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { openControlStore, openEventStore, type ControlStore } from './control';
import { type SqliteEventStore } from './event-store';
import { IncidentConflictError } from './incident-store';

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
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteEventStore', () => {
  let store: SqliteEventStore;
  beforeEach(() => {
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
  beforeEach(() => {
    control = openControlStore(dir);
  });
  afterEach(() => control.close());
  const windowMs = 15 * 60_000;

  it('groups alerts of one rule about one entity within the window into one incident', () => {
    const a = control.incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    const b = control.incidents.recordAlert(alert('a2', '2026-11-27T01:10:00Z', undefined, 'high'), windowMs);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.incident.id).toBe(a.incident.id);
    expect(b.incident.alert_count).toBe(2);
    expect(b.incident.severity).toBe('high');
    expect(control.incidents.alertIds(a.incident.id)).toEqual(['a1', 'a2']);
  });

  it('opens a new incident for another entity or after the window', () => {
    const a = control.incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    const other = control.incidents.recordAlert(
      alert('a2', '2026-11-27T01:01:00Z', 'source.ip:10.9.9.9'),
      windowMs,
    );
    const later = control.incidents.recordAlert(alert('a3', '2026-11-27T02:00:00Z'), windowMs);
    expect(new Set([a.incident.id, other.incident.id, later.incident.id]).size).toBe(3);
  });

  it('treats a redelivered alert as a duplicate that changes nothing', () => {
    const a = control.incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    const again = control.incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    expect(again.duplicate).toBe(true);
    expect(again.incident.alert_count).toBe(1);
    expect(control.incidents.list({}).items).toHaveLength(1);
    expect(again.incident.id).toBe(a.incident.id);
  });

  it('lets one responder claim a new incident and refuses a second claim', () => {
    const { incident } = control.incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    expect(control.incidents.claim(incident.id, 'alice').assignee).toBe('alice');
    expect(() => control.incidents.claim(incident.id, 'bob')).toThrow(IncidentConflictError);
    const resolved = control.incidents.transition(
      incident.id,
      'resolved',
      'alice',
      'blocked at the firewall',
    );
    expect(resolved.status).toBe('resolved');
    expect(control.incidents.notes(incident.id).map((n) => n.to_status)).toEqual([
      'new',
      'claimed',
      'resolved',
    ]);
    expect(() => control.incidents.transition(incident.id, 'claimed', 'alice', 'x')).toThrow(
      /cannot go from resolved to claimed/,
    );
  });

  it('lists incidents that still need a queue job until they are marked queued', () => {
    const { incident } = control.incidents.recordAlert(alert('a1', '2026-11-27T01:00:00Z'), windowMs);
    expect(control.incidents.listUnqueued().map((i) => i.id)).toEqual([incident.id]);
    control.incidents.markQueued(incident.id);
    expect(control.incidents.listUnqueued()).toEqual([]);
  });
});

describe('auth and audit', () => {
  let control: ControlStore;
  beforeEach(() => {
    control = openControlStore(dir);
  });
  afterEach(() => control.close());

  it('verifies issued tokens and forgets revoked ones', () => {
    expect(control.auth.hasActiveAdmin()).toBe(false);
    const { token, principal } = control.auth.createToken('bootstrap', 'admin');
    expect(control.auth.hasActiveAdmin()).toBe(true);
    expect(control.auth.verify(token)?.role).toBe('admin');
    expect(control.auth.verify(token + 'x')).toBeUndefined();
    control.auth.revoke(principal.id);
    expect(control.auth.verify(token)).toBeUndefined();
  });

  it('detects an edited audit entry', () => {
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
});
