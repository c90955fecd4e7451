import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { drillTouched, incidentDrillTags, isDrill, markDrillEvent } from '@citysoc/drills';
import { type Alert } from '@citysoc/ecs';
import { ReportPreparer, type ReportSettings, scanIncidents, summaryItems } from '@citysoc/reports';
import {
  type ControlStore,
  type SqliteEventStore,
  openControlStore,
  openEventStore,
  SqliteIncidentStore,
  type IncidentStore,
} from '@citysoc/store';
import { repoRoot } from '@citysoc/testing';
import { alert, event } from '../../libs/stix/src/testing/fixtures';

/**
 * Issue 9: a drill never reaches national reporting — not through the policy scan, not when a lead forces
 * a report, not when real alerts share the incident, and not with `reportDrills: flag-as-exercise`.
 */
const settings: ReportSettings = {
  taxiiUrl: '',
  taxiiCollection: '',
  taxiiUser: '',
  taxiiPassword: '',
  taxiiClientCert: '',
  taxiiClientKey: '',
  taxiiCa: '',
  taxiiPullCollection: '',
  reportLevels: ['high', 'critical'],
  reportCategories: [],
  reportUnits: [],
  reportPseudonymKey: '',
  reportInternalAddresses: 'drop',
  reportDrills: 'flag-as-exercise',
  reportTlp: 'amber',
  reporterKey: 'test-soc',
  reporterName: 'Test City SOC',
  reporterContact: 'soc-duty@city.example',
  reporterAddress: '',
  reportNumberPrefix: 'TS',
  reportTimeZone: 'Asia/Ho_Chi_Minh',
  unitsFile: path.join(repoRoot(), 'deploy', 'units.example.yml'),
};

function alerts(n: number, attacker: string, drillRun: string | undefined, base: number): Alert[] {
  return Array.from({ length: n }, (_, i) => {
    const ts = new Date(base + i * 1000).toISOString();
    let ev = event({ '@timestamp': ts, source: { ip: attacker, port: 40000 + i } });
    ev.event.id = `ev-${attacker}-${i}-${drillRun ?? 'real'}`;
    if (drillRun) ev = markDrillEvent(ev, drillRun);
    const a = alert(ev, i);
    a.id = `al-${attacker}-${i}-${drillRun ?? 'real'}`;
    a['@timestamp'] = ts;
    a.entity = `source.ip:${attacker}`;
    a.rule = { ...a.rule, level: 'critical', tags: ['attack.credential-access', 'attack.t1110'] };
    return a;
  });
}

describe('national reporting refuses drill data', () => {
  let dir: string;
  let control: ControlStore;
  let incidents: IncidentStore;
  let events: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-drill-report-'));
    control = openControlStore(dir);
    incidents = new SqliteIncidentStore(control.db);
    events = openEventStore(dir);
  });
  afterEach(async () => {
    await events.close();
    control.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function record(list: Alert[]): Promise<string> {
    await events.insertAlerts(list);
    let id = '';
    for (const a of list) id = (await incidents.recordAlert(a, 30 * 60_000)).incident.id;
    return id;
  }

  it('a drill incident and a mixed incident produce no report version; a real one still does', async () => {
    const t = Date.parse('2026-11-27T08:00:00Z');
    const drillAlerts = alerts(3, '198.51.100.23', 'd-REPORT01', t);
    const mixedAlerts = [
      ...alerts(2, '198.51.100.24', 'd-REPORT01', t),
      ...alerts(2, '198.51.100.24', undefined, t + 5000),
    ];
    const drill = await record(drillAlerts);
    const mixed = await record(mixedAlerts);
    const real = await record(alerts(3, '198.51.100.25', undefined, t));
    expect(new Set([drill, mixed, real]).size).toBe(3);

    // The shared filter: the drill incident is a drill, the mixed one counts as real but is drill-touched.
    expect(isDrill({ tags: incidentDrillTags(drillAlerts) })).toBe(true);
    expect(isDrill({ tags: incidentDrillTags(mixedAlerts) })).toBe(false);
    expect(drillTouched({ tags: incidentDrillTags(mixedAlerts) })).toBe(true);

    // The responder's store keeps the drill status as it groups (no one sets these tags by hand).
    expect((await incidents.get(drill))!.tags).toEqual(['drill', 'drill-run:d-REPORT01']);
    expect((await incidents.get(mixed))!.tags).toEqual(['drill-mixed']);
    expect((await incidents.get(real))!.tags).toEqual([]);

    const preparer = new ReportPreparer(control, incidents, events, settings);
    const scan = await scanIncidents(control, preparer, { minUpdateMs: 0 });
    const subjects = scan.versions.map((v) => control.reports.get(v)!.subject);
    expect(subjects).toEqual([real]);
    for (const id of [drill, mixed]) {
      expect(await preparer.prepare(id, { force: true })).toMatchObject({ report: false, reason: 'drill' });
      expect(control.reports.listVersions({ subject: id, limit: 10 })).toEqual([]);
    }
  });

  it('SLA statistics and the half-year summary leave pure drill incidents out and count mixed ones', async () => {
    const t = Date.now() - 60_000;
    const drill = await record(alerts(2, '198.51.100.33', 'd-SLA00001', t));
    const mixed = await record([
      ...alerts(1, '198.51.100.34', undefined, t),
      ...alerts(1, '198.51.100.34', 'd-SLA00001', t + 5000),
    ]);
    const real = await record(alerts(1, '198.51.100.35', undefined, t));
    const counted = (await incidents.slaReport({})).reduce((n, r) => n + r.incidents, 0);
    expect(counted).toBe(2);
    const all = (await incidents.list({ limit: 10 })).items.map((i) => i.id);
    expect(all.sort()).toEqual([drill, mixed, real].sort());
    const items = await summaryItems(control, incidents, events, {
      start: new Date(t - 3_600_000).toISOString(),
      end: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(Object.fromEntries(items.map((i) => [i.incident.id, i.drill]))).toEqual({
      [drill]: true,
      [mixed]: false,
      [real]: false,
    });
  });
});
