import { groupingAlert } from '../../contract/incident-grouping.contract.test';
import { type IncidentStore } from '../../incident-port';
import { type ControlStore } from '../../sqlite/control';
import { SqliteIncidentStore } from '../../sqlite/incident-store';

/** A SQLite incident history to migrate (migrate.spec.ts, and the real-cluster suite). */

export const T0 = Date.parse('2026-11-20T08:00:00.000Z');
export const W = 15 * 60_000;
export const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

/**
 * A control database with what a few weeks of a SOC leave behind: grouped alerts with a raised severity,
 * a claimed incident with comments, tags, pins and a breached SLA, a merge, a split, a closed and reopened
 * incident, a false positive, a drill, and audit entries.
 */
export async function seedSqliteHistory(
  control: ControlStore,
  clock: { ms: number },
): Promise<IncidentStore> {
  const s = new SqliteIncidentStore(control.db, () => clock.ms);
  const rec = async (id: string, min: number, o: Parameters<typeof groupingAlert>[2] = {}) => {
    clock.ms = T0 + min * 60_000;
    return (await s.recordAlert(groupingAlert(id, at(min), o), W)).incident.id;
  };
  const unit = ['hanoi', 'ba-dinh'];
  const a = await rec('a1', 0, { unit });
  await rec('a2', 2, { unit, level: 'high' });
  await rec('a3', 4, { unit });
  await s.setSlaDeadlines(a, [
    { kind: 'acknowledge', dueMs: T0 + 10 * 60_000 },
    { kind: 'resolve', dueMs: T0 + 240 * 60_000 },
  ]);
  await s.markQueued(a);
  clock.ms = T0 + 11 * 60_000;
  await s.recordSlaBreach(a, 'acknowledge', clock.ms);
  await s.claim(a, 'alice', { token: 'job-lock-1', lockMs: 60_000 });
  await s.comment(a, 'alice', 'brute force from a known scanner');
  await s.setTags(a, ['ssh', 'scanner'], [], 'alice');
  await s.pinEvidence(a, { kind: 'alert', ref: 'a2', note: 'the high one' }, 'alice');
  await s.pinEvidence(a, { kind: 'event', ref: 'ev-x', note: 'the login' }, 'alice');
  control.audit.append({
    actor: 'alice',
    action: 'incident.comment',
    target: `incident/${a}`,
    outcome: 'success',
  });

  // Merge: two incidents of other addresses into a third.
  const t = await rec('m-t', 20, { ip: '203.0.113.1', rule: 'rule-web' });
  const m1 = await rec('m-1', 21, { ip: '203.0.113.2', rule: 'rule-web' });
  await rec('m-1b', 22, { ip: '203.0.113.2', rule: 'rule-web' });
  const m2 = await rec('m-2', 23, { ip: '203.0.113.3', rule: 'rule-web', level: 'critical' });
  await s.setSlaDeadlines(m2, [{ kind: 'acknowledge', dueMs: T0 + 25 * 60_000 }]);
  await s.pinEvidence(m1, { kind: 'alert', ref: 'm-1b', note: 'same payload' }, 'bob');
  clock.ms = T0 + 30 * 60_000;
  await s.merge(t, [m1, m2], 'one campaign', 'bob');

  // Split: three alerts, two of them move.
  const sp = await rec('s-1', 40, { ip: '192.0.2.9', rule: 'rule-dns', unit: ['hanoi'] });
  await rec('s-2', 41, { ip: '192.0.2.9', rule: 'rule-dns', unit: ['hanoi'] });
  await rec('s-3', 42, { ip: '192.0.2.9', rule: 'rule-dns', unit: ['hanoi'] });
  await s.pinEvidence(sp, { kind: 'alert', ref: 's-3', note: 'odd one' }, 'carol');
  clock.ms = T0 + 45 * 60_000;
  await s.split(
    sp,
    ['s-3', 's-2'],
    {
      moved: {
        severity: 'critical',
        rule_ids: ['rule-dns'],
        mitre: { tactics: [], techniques: [] },
        title: 'Tunnel',
      },
      kept: null,
    },
    'two hosts',
    'carol',
  );

  // Resolved, then reopened by a late alert of its group.
  const r = await rec('r-1', 60, { ip: '198.51.100.50', rule: 'rule-rdp' });
  clock.ms = T0 + 62 * 60_000;
  await s.transition(r, { to: 'acknowledged' }, 'dave');
  await s.transition(r, { to: 'in_progress' }, 'dave');
  await s.transition(r, { to: 'resolved', reason: 'blocked at the edge' }, 'dave');
  await rec('r-2', 65, { ip: '198.51.100.50', rule: 'rule-rdp' });

  // A false positive, and a drill incident (out of the SLA report).
  const fp = await rec('fp-1', 70, { ip: '198.51.100.60', rule: 'rule-ntp' });
  clock.ms = T0 + 71 * 60_000;
  await s.transition(fp, { to: 'false_positive', reason: 'the NTP server' }, 'erin');
  await rec('d-1', 80, { ip: '198.51.100.70', rule: 'rule-drill', drillRun: 'run-1' });
  control.audit.append({
    actor: 'erin',
    action: 'incident.transition',
    target: `incident/${fp}`,
    outcome: 'success',
    detail: { to: 'false_positive' },
  });
  return s;
}
