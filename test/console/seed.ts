import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { openControlStore, openEventStore, SqliteIncidentStore } from '@citysoc/store';
import { alert as alertFixture, event as eventFixture } from '../../libs/stix/src/testing/fixtures';

export function ward(path: string[], name: string): NonNullable<EcsEvent['citysoc']> {
  return { unit: { id: path.join('-'), name, path, criticality: 'medium' } };
}

/** Incidents in two wards, seeded through the real stores before the API starts. */
export async function seed(dataDir: string, now: number): Promise<void> {
  const control = openControlStore(dataDir);
  const incidents = new SqliteIncidentStore(control.db);
  const events = openEventStore(dataDir);
  const list: Alert[] = [];
  const wards = [
    { path: ['hanoi', 'hoan-kiem', 'hang-bac'], name: 'Phường Hàng Bạc' },
    { path: ['hanoi', 'ba-dinh', 'kim-ma'], name: 'Phường Kim Mã' },
  ];
  for (let i = 0; i < 6; i++) {
    const w = wards[i % 2]!;
    const ts = new Date(now - (i + 1) * 3600_000).toISOString();
    const ev = eventFixture({ '@timestamp': ts, citysoc: ward(w.path, w.name) });
    ev.event = { ...ev.event, id: `ev-console-${i}`, created: new Date(Date.parse(ts) + 1000).toISOString() };
    ev.source = { ip: `198.51.100.${10 + i}`, port: 40000 + i };
    const a = alertFixture(ev, i);
    a.id = `al-console-${i}`;
    a.created_at = new Date(Date.parse(ts) + 1500).toISOString();
    a.entity = `source.ip:198.51.100.${10 + i}`;
    // Odd incidents carry a tactic the ATT&CK data file does not know (as newer SigmaHQ tags do).
    a.rule = {
      ...a.rule,
      tags:
        i % 2
          ? ['attack.credential-access', 'attack.t1110.001']
          : ['attack.defense-impairment', 'attack.t1686.002'],
    };
    a.matched_fields = { 'event.action': 'ssh_login', 'source.ip': ev.source.ip };
    list.push(a);
  }
  await events.insertEvents(list.map((a) => a.event));
  await events.insertAlerts(list);
  for (const a of list) await incidents.recordAlert(a, 30 * 60_000);
  await events.close();
  control.close();
}
