import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Alert } from '@citysoc/ecs';
import { IocSet } from '@citysoc/enrich';
import { redisConnection } from '@citysoc/queues';
import {
  Deliverer,
  ReportOutbox,
  ReportPreparer,
  type ReportSettings,
  prepareSummary,
  pullIocs,
  scanIncidents,
  taxiiClientOf,
} from '@citysoc/reports';
import {
  SqliteIncidentStore,
  type ControlStore,
  type SqliteEventStore,
  openControlStore,
  openEventStore,
  type IncidentStore,
} from '@citysoc/store';
import { StixValidator, TaxiiClient, checkBundle, defaultSchemaDir, type StixObject } from '@citysoc/stix';
import { repoRoot, uniquePrefix, waitFor } from '@citysoc/testing';
import { alert, event } from '../../libs/stix/src/testing/fixtures';
import { TaxiiTestServer } from '../taxii/server';

const COLL = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';
const NATIONAL = 'e4b1c7d2-0000-4000-8000-00000000000a';
const ATTACKER = '185.220.101.4';
const SIGMA = path.join(repoRoot(), 'rules', 'linux', 'sshd_auth_failure.yml');

function settings(s: TaxiiTestServer, over: Partial<ReportSettings> = {}): ReportSettings {
  return {
    taxiiUrl: s.apiRootUrl,
    taxiiCollection: COLL,
    taxiiUser: 'reporter',
    taxiiPassword: 'secret',
    taxiiClientCert: '',
    taxiiClientKey: '',
    taxiiCa: '',
    taxiiPullCollection: NATIONAL,
    reportLevels: ['high', 'critical'],
    reportCategories: [],
    reportUnits: [],
    reportPseudonymKey: '',
    reportInternalAddresses: 'drop',
    reportDrills: 'skip',
    reportTlp: 'amber',
    reporterKey: 'test-soc',
    reporterName: 'Test City SOC',
    reporterContact: 'soc-duty@city.example',
    reporterAddress: '',
    reportNumberPrefix: 'TS',
    reportTimeZone: 'Asia/Ho_Chi_Minh',
    unitsFile: path.join(repoRoot(), 'deploy', 'units.example.yml'),
    ...over,
  };
}

/** Alerts of the SSH rule from a public attacker against an internal host, with personal data in them. */
function alerts(
  n: number,
  level: Alert['rule']['level'] = 'high',
  base = Date.parse('2026-11-27T07:40:00Z'),
): Alert[] {
  return Array.from({ length: n }, (_, i) => {
    const ts = new Date(base + i * 1000).toISOString();
    const ev = event({
      '@timestamp': ts,
      source: { ip: ATTACKER, port: 40000 + i },
      related: { ip: [ATTACKER, '10.20.1.15'], user: ['tranthib'], hosts: ['web-hn-01'] },
    });
    ev.event.id = `ev-${level}-${i}`;
    const a = alert(ev, i);
    a.id = `al-${level}-${i}-${base}`;
    a['@timestamp'] = ts;
    a.entity = `source.ip:${ATTACKER}`;
    a.rule = { ...a.rule, level, path: SIGMA, tags: ['attack.credential-access', 'attack.t1110'] };
    return a;
  });
}

describe('national reporting against the TAXII test server, SQLite and Redis', () => {
  let dir: string;
  let control: ControlStore;
  let incidents: IncidentStore;
  let events: SqliteEventStore;
  let server: TaxiiTestServer;
  let validator: StixValidator;
  const sleepless = { sleep: async () => undefined };

  beforeAll(() => {
    const schemas = defaultSchemaDir();
    if (!schemas) throw new Error('STIX schemas missing: ../shared/corpus/stix');
    validator = new StixValidator(schemas);
  });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-report-'));
    control = openControlStore(dir);
    incidents = new SqliteIncidentStore(control.db);
    events = openEventStore(dir);
    server = await TaxiiTestServer.start({
      maxContentLength: 6000,
      collections: [
        { id: COLL, title: 'Incident reports', can_read: true, can_write: true },
        { id: NATIONAL, title: 'National indicators', can_read: true, can_write: true },
      ],
    });
  });

  afterEach(async () => {
    await server.close();
    await events.close();
    control.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function record(list: Alert[], store: IncidentStore = incidents): Promise<string> {
    await events.insertAlerts(list);
    let id = '';
    for (const a of list) id = (await store.recordAlert(a, 30 * 60_000)).incident.id;
    return id;
  }

  function deliverer(s: ReportSettings): Deliverer {
    return new Deliverer(control, new TaxiiClient({ ...clientOpts(s), ...sleepless }), s.taxiiCollection);
  }
  function clientOpts(s: ReportSettings) {
    return { apiRootUrl: s.taxiiUrl, user: s.taxiiUser, password: s.taxiiPassword };
  }

  it('reports a high incident: every object validates, the bundle reaches the collection in split envelopes, a change is a new version of the same objects', async () => {
    const s = settings(server);
    const t0 = Date.parse('2026-11-27T08:00:00Z');
    const incidents = new SqliteIncidentStore(control.db, () => t0);
    const id = await record(alerts(3), incidents);
    const preparer = new ReportPreparer(control, incidents, events, s);

    const scan = await scanIncidents(control, preparer, { minUpdateMs: 0 });
    expect(scan.versions).toHaveLength(1);
    const v1 = control.reports.get(scan.versions[0]!)!;
    expect(v1.report_kind).toBe('initial');
    const types = new Set(v1.bundle.objects.map((o) => o.type));
    for (const t of [
      'report',
      'incident',
      'indicator',
      'observed-data',
      'sighting',
      'identity',
      'marking-definition',
      'extension-definition',
      'ipv4-addr',
    ])
      expect(types).toContain(t);
    for (const r of validator.validateBundle(v1.bundle))
      expect({ id: r.id, errors: r.errors }).toEqual({ id: r.id, errors: [] });
    expect(checkBundle(v1.bundle as never)).toEqual([]);
    const sigma = v1.bundle.objects.find((o) => o['pattern_type'] === 'sigma');
    expect(String(sigma?.['pattern'])).toContain('title: SSH authentication failure');
    const ext = v1.bundle.objects.find((o) => o.type === 'incident')!['extensions'] as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.values(ext).some((e) => e['rsit_category'] === 'intrusion-attempts:brute-force')).toBe(
      true,
    );

    const d1 = await deliverer(s).deliver(v1.id);
    expect(d1.outcome).toBe('delivered');
    expect(d1.delivery.status_ids.length).toBeGreaterThan(1); // 6000-byte limit → several envelopes
    const stored = server.stored(COLL);
    for (const o of v1.bundle.objects) expect(stored.map((x) => x.id)).toContain(o.id);
    expect(control.reports.get(v1.id)!.state).toBe('delivered');
    expect(
      control.audit
        .list(10)
        .some((e) => e.action === 'report.deliver' && e.target === v1.id && e.outcome === 'success'),
    ).toBe(true);

    // A change (claimed by an analyst, a minute later): same ids, later `modified`, no new object ids.
    await new SqliteIncidentStore(control.db, () => t0 + 60_000).claim(id, 'Le Thi Hoa');
    const scan2 = await scanIncidents(control, preparer, { minUpdateMs: 0 });
    expect(scan2.versions).toHaveLength(1);
    const v2 = control.reports.get(scan2.versions[0]!)!;
    expect(v2.report_kind).toBe('update');
    const sdo = (b: typeof v1.bundle) =>
      new Map(
        b.objects.filter((o) => typeof o['modified'] === 'string').map((o) => [o.id, String(o['modified'])]),
      );
    const a = sdo(v1.bundle);
    const b = sdo(v2.bundle);
    const incidentId = v1.bundle.objects.find((o) => o.type === 'incident')!.id;
    expect(b.get(incidentId)! > a.get(incidentId)!).toBe(true);
    for (const [oid] of b) if (!['report'].includes(oid.split('--')[0]!)) expect(a.has(oid)).toBe(true);
    expect(JSON.stringify(v2.bundle)).not.toContain('Le Thi Hoa');

    const d2 = await deliverer(s).deliver(v2.id);
    expect(d2.outcome).toBe('delivered');
    // Unchanged objects (marking, identities, SCOs) were acknowledged before and not sent again.
    expect(d2.delivery.skipped).toBeGreaterThan(0);
    const versions = server.stored(COLL).filter((x) => x.id === incidentId);
    expect(versions).toHaveLength(2);
  });

  it('keeps internal addresses, host names, account and personal names out; pseudonyms only with a key; drills skipped or flagged', async () => {
    const id = await record(alerts(2));
    const raw = (await events.getAlert(`al-high-0-${Date.parse('2026-11-27T07:40:00Z')}`))!;
    const leak = [
      '10.20.1.15',
      'web-hn-01',
      'tranthib',
      'Nguyen Van Minh',
      'Le Thi Hoa',
      raw.event.event.original ?? 'Failed password',
      raw.event.message ?? 'Failed password',
    ];
    const dropped = await new ReportPreparer(control, incidents, events, settings(server)).prepare(id);
    if (!dropped.report) throw new Error('expected a report');
    const text = JSON.stringify(dropped.bundle);
    for (const l of leak) expect(text).not.toContain(l);
    expect(text).toContain(ATTACKER);
    expect(text).toContain('soc-duty@city.example');
    // The unit registry's ranges (10.0.0.0/8 etc. in the example) are internal too; the unit is named (AMBER).
    expect(text).toContain('Department of Finance');

    const key = 'k'.repeat(32);
    const pseudo = await new ReportPreparer(
      control,
      incidents,
      events,
      settings(server, { reportInternalAddresses: 'pseudonymise', reportPseudonymKey: key }),
    ).prepare(id);
    if (!pseudo.report) throw new Error('expected a report');
    const ptext = JSON.stringify(pseudo.bundle);
    for (const l of leak) expect(ptext).not.toContain(l);
    expect(ptext).toMatch(/int-[0-9a-f]{12}/);
    expect(ptext).not.toContain(key);

    control.reports.annotate(id, { drill: true });
    const skipped = await new ReportPreparer(control, incidents, events, settings(server)).prepare(id);
    expect(skipped).toMatchObject({ report: false, reason: 'drill' });
    expect(
      (
        await scanIncidents(control, new ReportPreparer(control, incidents, events, settings(server)), {
          minUpdateMs: 0,
        })
      ).versions,
    ).toEqual([]);
    const flagged = await new ReportPreparer(
      control,
      incidents,
      events,
      settings(server, { reportDrills: 'flag-as-exercise' }),
    ).prepare(id);
    if (!flagged.report) throw new Error('expected an exercise report');
    expect(flagged.bundle.objects.find((o) => o.type === 'incident')!['labels']).toContain('exercise');
  });

  it('debounces updates of a reported incident unless its status changes', async () => {
    const t0 = Date.parse('2026-11-27T08:00:00Z');
    const id = await record(alerts(1), new SqliteIncidentStore(control.db, () => t0));
    const preparer = new ReportPreparer(control, incidents, events, settings(server));
    const hour = 3_600_000;
    expect((await scanIncidents(control, preparer, { minUpdateMs: hour })).versions).toHaveLength(1);
    // One more alert a second later: same status, within the interval → no new version yet.
    const more = alerts(1, 'high', Date.parse('2026-11-27T07:45:00Z'));
    await record(more, new SqliteIncidentStore(control.db, () => t0 + 1000));
    expect((await scanIncidents(control, preparer, { minUpdateMs: hour })).versions).toEqual([]);
    // A status change goes at once, and carries the pending alert-count change with it.
    await new SqliteIncidentStore(control.db, () => t0 + 2000).claim(id, 'an.analyst');
    const r = await scanIncidents(control, preparer, { minUpdateMs: hour });
    expect(r.versions).toHaveLength(1);
    expect(control.reports.get(r.versions[0]!)!.version).toBe(new Date(t0 + 2000).toISOString());
    expect(control.reports.listVersions({ subject: id })).toHaveLength(2);
  });

  it('applies the policy: a medium incident is not reported until a lead asks', async () => {
    const id = await record(alerts(1, 'medium'));
    const preparer = new ReportPreparer(control, incidents, events, settings(server));
    expect((await scanIncidents(control, preparer, { minUpdateMs: 0 })).versions).toEqual([]);
    control.reports.annotate(id, { requestedBy: 'lead-1' });
    const r = await preparer.prepareAndStore(id, 'lead:lead-1');
    expect(r.created).toBe(true);
    expect(r.prepared).toMatchObject({ report: true, decision: { because: 'requested by a lead' } });
  });

  it('outbox on Redis: retries 503 and 429 with backoff until delivered; a 401 fails at once and is surfaced', async () => {
    const prefix = uniquePrefix();
    const redis = redisConnection(process.env.CITYSOC_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const outbox = new ReportOutbox(prefix, redis, { baseMs: 20, maxMs: 100 });
    try {
      const s = settings(server);
      const id = await record(alerts(2));
      const { version } = await new ReportPreparer(control, incidents, events, s).prepareAndStore(
        id,
        'policy',
      );
      outbox.start(new Deliverer(control, taxiiClientOf(s, { pollIntervalMs: 1 }), COLL));
      server.failNext(503, { method: 'POST' });
      server.failNext(429, { method: 'POST', headers: { 'Retry-After': '0' } });
      await outbox.enqueue(version!.id);
      await waitFor(() => control.reports.get(version!.id)!.state === 'delivered', 'delivery after retries');
      const ds = control.reports.listDeliveries({ reportId: version!.id });
      expect(ds.map((d) => d.outcome).sort()).toEqual(['delivered', 'retrying', 'retrying']);
      expect(
        ds
          .filter((d) => d.outcome === 'retrying')
          .map((d) => d.http_status)
          .sort(),
      ).toEqual([429, 503]);

      // Wrong password: 401 is not retried; the version is failed and the failure is in the audit log.
      const bad = settings(server, { taxiiPassword: 'wrong' });
      const other = await record(alerts(1, 'critical', Date.parse('2026-11-27T09:40:00Z')));
      const v = (await new ReportPreparer(control, incidents, events, bad).prepareAndStore(other, 'policy'))
        .version!;
      await outbox.close();
      const outbox2 = new ReportOutbox(prefix, redis, { baseMs: 20, maxMs: 100 });
      outbox2.start(new Deliverer(control, taxiiClientOf(bad, { pollIntervalMs: 1 }), COLL));
      await outbox2.enqueue(v.id);
      await waitFor(() => control.reports.get(v.id)!.state === 'failed', 'permanent failure');
      await waitFor(
        async () =>
          (await outbox2.queue.getJobCounts('active', 'waiting', 'delayed')).active === 0 || undefined,
        'idle',
      );
      const fails = control.reports.listDeliveries({ reportId: v.id });
      expect(fails).toHaveLength(1);
      expect(fails[0]).toMatchObject({ outcome: 'failed', http_status: 401, error_code: 'unauthorized' });
      expect(control.audit.list(5).some((e) => e.target === v.id && e.outcome === 'failure')).toBe(true);
      await outbox2.queue.obliterate({ force: true });
      await outbox2.close();
    } finally {
      redis.disconnect();
    }
  });

  it('builds a summary with counts by RSIT category, severity and unit, and pulls national indicators as IOCs', async () => {
    const s = settings(server);
    const incs = new SqliteIncidentStore(control.db, () => Date.parse('2026-11-26T10:00:00Z'));
    await record(alerts(1, 'high', Date.parse('2026-11-26T09:00:00Z')), incs);
    await record(alerts(1, 'low', Date.parse('2026-11-26T11:00:00Z')), incs);
    // Created today, outside the period: not counted.
    await record(alerts(1, 'critical', Date.parse('2026-11-26T23:59:00Z')));
    const sum = await prepareSummary(
      control,
      incidents,
      events,
      s,
      'daily',
      new Date('2026-11-27T00:15:00Z'),
    );
    for (const r of validator.validateBundle(sum.bundle)) expect(r.errors).toEqual([]);
    expect(checkBundle(sum.bundle)).toEqual([]);
    const rep = sum.bundle.objects.find((o) => o.type === 'report')!;
    const ext = Object.values(rep['extensions'] as Record<string, Record<string, unknown>>)[0]!;
    expect(ext['period_start']).toBe('2026-11-26T00:00:00.000Z');
    expect(ext['period_end']).toBe('2026-11-27T00:00:00.000Z');
    const counts = (ext['counts'] as Array<Record<string, unknown>>).map((c) => [
      c['category'],
      c['severity'],
      c['unit'],
      c['opened'],
    ]);
    expect(counts).toEqual([
      ['intrusion-attempts:brute-force', 'high', 'Department of Finance', 1],
      ['intrusion-attempts:brute-force', 'low', 'Department of Finance', 1],
    ]);

    const seed = new TaxiiClient({
      apiRootUrl: server.apiRootUrl,
      user: 'reporter',
      password: 'secret',
      ...sleepless,
    });
    const now = new Date().toISOString();
    const ind = (n: number, pattern: string): StixObject => ({
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--0000000${n}-0000-4000-8000-000000000000`,
      created: now,
      modified: now,
      pattern_type: 'stix',
      pattern,
      valid_from: now,
    });
    await seed.addObjects(NATIONAL, [
      ind(1, "[ipv4-addr:value = '185.220.101.4'] OR [domain-name:value = 'evil.example.com']"),
      ind(2, "[file:hashes.'SHA-256' = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']"),
      ind(3, "[ipv4-addr:value = '10.1.2.3']"),
    ]);
    const pulled = await pullIocs(control, taxiiClientOf(s, { pollIntervalMs: 1 }), NATIONAL);
    expect(pulled).toMatchObject({ indicators: 3, iocs: 3, added: 3, skipped: 1 });
    const again = await pullIocs(control, taxiiClientOf(s, { pollIntervalMs: 1 }), NATIONAL);
    expect(again.indicators).toBe(0); // watermark: nothing new since the last pull
    const set = new IocSet(control.reports.activeIocs());
    expect(
      set
        .matchEvent({ source: { ip: ATTACKER }, destination: { domain: 'a.evil.example.com' } })
        .map((h) => h.field),
    ).toEqual(['source.ip', 'destination.domain']);
    expect(set.hash('a'.repeat(64))?.indicator_id).toBe('indicator--00000002-0000-4000-8000-000000000000');
    expect(set.ip('10.1.2.3')).toBeUndefined();
  });
});
