import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupingAlert } from '../contract/incident-grouping.contract.test';
import { type IncidentStore } from '../incident-port';
import { type Incident, type Page } from '../ports';
import { openControlStore, type ControlStore } from '../sqlite/control';
import { AuditImportError, ElasticsearchAuditLog } from './audit-log';
import { groupHeadId, type IncidentLifecycleDoc } from './incident-docs';
import { ElasticsearchIncidentStore } from './incident-store';
import {
  ElasticsearchIncidentImporter,
  type MigrationProgress,
  migrateIncidents,
  SqliteIncidentSource,
} from './migrate';
import { FakeCluster } from './testing/fake-cluster.test';
import { at, seedSqliteHistory as seed, T0, W } from './testing/sqlite-history.test';

/** What SQLite answers, with the lease dropped as the migration drops it. */
function withoutClaim(page: Page<Incident>): Page<Incident> {
  return { ...page, items: page.items.map((i) => ({ ...i, claim_expires_at: null })) };
}

describe('migrating incidents from SQLite into Elasticsearch', () => {
  let dir: string;
  let control: ControlStore;
  let sqlite: IncidentStore;
  let fake: FakeCluster;
  let es: ElasticsearchIncidentStore;
  let audit: ElasticsearchAuditLog;
  let importer: ElasticsearchIncidentImporter;
  const clock = { ms: T0 };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-migrate-'));
    control = openControlStore(dir);
    sqlite = await seed(control, clock);
    fake = new FakeCluster();
    fake.modelRefresh = true;
    audit = new ElasticsearchAuditLog(fake.client());
    es = new ElasticsearchIncidentStore(fake.client(), { audit, now: () => clock.ms });
    importer = new ElasticsearchIncidentImporter(fake.client(), es, { sleep: async () => {} });
    await es.install();
    await audit.install();
  });
  afterEach(() => {
    control.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const migrate = (o: Parameters<typeof migrateIncidents>[2] = {}) =>
    migrateIncidents(new SqliteIncidentSource(control.db), { importer, audit }, { batchSize: 3, ...o });

  async function allSqliteIds(): Promise<string[]> {
    const page = await sqlite.list({ limit: 1000 });
    return page.items.map((i) => i.id);
  }

  it('copies every incident so that the Elasticsearch store answers what the SQLite store answers', async () => {
    const report = await migrate();
    expect(report).toMatchObject({
      ok: true,
      source: { incidents: 9, alert_links: 14, groups: 9, audit_entries: 2 },
      target: { incidents: 9, alert_links: 14, groups: 9, audit_entries: 2 },
      created: { incidents: 9, alert_links: 14, groups: 9, audit_entries: 2 },
      audit: { copied: true, source_verified: true, target_verified: true },
    });
    const ids = await allSqliteIds();
    expect(ids).toHaveLength(9);
    const statuses = new Set<string>();
    for (const id of ids) {
      const want = await sqlite.get(id);
      // Claim state is dropped on purpose (the lease belonged to a responder of the old deployment).
      expect(await es.get(id)).toEqual({ ...want, claim_expires_at: null });
      expect(await es.alertIds(id)).toEqual(await sqlite.alertIds(id));
      expect(await es.notes(id)).toEqual(await sqlite.notes(id));
      expect(await es.comments(id)).toEqual(await sqlite.comments(id));
      expect(await es.evidence(id)).toEqual(await sqlite.evidence(id));
      expect(await es.claimTokenFor(id)).toBeNull();
      statuses.add(want?.status ?? '');
    }
    // The mix is what the test claims it is.
    expect([...statuses].sort()).toEqual(['acknowledged', 'duplicate', 'false_positive', 'new']);
    const all = await Promise.all(ids.map((id) => sqlite.get(id)));
    expect(all.some((i) => i?.split_from)).toBe(true);
    expect(all.some((i) => (i?.generation ?? 0) > 0 && i?.reopened_at)).toBe(true);
    expect(all.some((i) => (i?.sla.breaches.length ?? 0) > 0)).toBe(true);
    expect(all.some((i) => i?.tags.includes('drill'))).toBe(true);

    // Searches: the lists (every filter the queue uses), the unqueued sweep and the SLA report.
    for (const q of [
      { limit: 1000 },
      { limit: 3 },
      { status: 'new' as const, limit: 1000 },
      { tag: 'ssh', limit: 1000 },
      { scope: 'hanoi', limit: 1000 },
      { ruleId: 'rule-web', limit: 1000 },
      { text: 'tunnel', limit: 1000 },
    ])
      expect(await es.list(q)).toEqual(withoutClaim(await sqlite.list(q)));
    expect((await es.listUnqueued()).map((i) => i.id)).toEqual(
      (await sqlite.listUnqueued()).map((i) => i.id),
    );
    const sortRows = <T extends { unit_path: string | null; severity: string }>(rows: T[]) =>
      [...rows].sort((x, y) => `${x.unit_path}|${x.severity}`.localeCompare(`${y.unit_path}|${y.severity}`));
    expect(sortRows(await es.slaReport({}))).toEqual(sortRows(await sqlite.slaReport({})));

    // The audit chain, copied as it was: same entries, same hashes, verifies.
    expect(await audit.list(100)).toEqual(control.audit.list(100));
    expect(await audit.verify()).toEqual(control.audit.verify());
  });

  it('keeps grouping where SQLite left it: redeliveries are duplicates, the next alert joins its incident', async () => {
    await migrate();
    const redelivered = await es.recordAlert(groupingAlert('a1', at(0), { unit: ['hanoi', 'ba-dinh'] }), W);
    expect(redelivered).toMatchObject({ duplicate: true, created: false });
    // The same new alert on both stores lands in the same incident with the same result.
    clock.ms = T0 + 66 * 60_000;
    const next = groupingAlert('r-3', at(66), { ip: '198.51.100.50', rule: 'rule-rdp' });
    const onEs = await es.recordAlert(next, W);
    const onSqlite = await sqlite.recordAlert(next, W);
    expect(onEs).toEqual(onSqlite);
    // A human action after the switch chains onto the copied audit log.
    const a = (await sqlite.list({ tag: 'ssh', limit: 10 })).items[0]?.id as string;
    await es.comment(a, 'alice', 'after the switch');
    expect(await audit.verify()).toEqual({ ok: true, entries: 3 });
  });

  it('writes with bulk create only, each document under the id the store itself gives it', async () => {
    await migrate({ batchSize: 500 });
    const ops = fake
      .requestsTo('POST', '/_bulk')
      .flatMap((r) => (r.body as Array<Record<string, unknown>>).filter((_, i) => i % 2 === 0));
    const ids = (index: string) =>
      ops
        .map((o) => o['create'] as { _index: string; _id: string })
        .filter((c) => c._index === index)
        .map((c) => c._id);
    expect(ops.every((o) => Object.keys(o).join() === 'create')).toBe(true);
    expect(ids(es.index).sort()).toEqual((await allSqliteIds()).sort());
    expect(ids(es.docs.alertsIndex)).toContain('a2');
    expect(ids(es.docs.groupsIndex)).toContain(
      groupHeadId((await sqlite.get(ids(es.index)[0] as string))?.group_key ?? ''),
    );
    expect(ids(audit.index)).toEqual(['1', '2']);
    // The audit head is moved once, to the last copied entry.
    expect(fake.requestsTo('PUT', `/${audit.headIndex}/_doc/head`).map((r) => r.body)).toEqual([
      { seq: 2, hash: control.audit.list(1)[0]?.hash },
    ]);
  });

  it('is idempotent: a second run creates nothing and reports everything as already there', async () => {
    await migrate();
    const writes = () => fake.requests.filter((r) => r.method === 'PUT' && r.path.includes('/_doc/')).length;
    const before = writes();
    const again = await migrate();
    expect(again).toMatchObject({
      ok: true,
      created: { incidents: 0, alert_links: 0, groups: 0, audit_entries: 0 },
      existing: { incidents: 9, alert_links: 14, groups: 9, audit_entries: 2 },
      differing: { count: 0 },
    });
    // Nothing was overwritten: the only single-document writes would be the audit head, which stays.
    expect(writes()).toBe(before);
  });

  it('resumes after an interruption and ends with the same counts', async () => {
    const stopAfter = (phase: MigrationProgress['phase']) => (p: MigrationProgress) => {
      if (p.phase === phase) throw new Error('killed');
    };
    await expect(migrate({ progress: stopAfter('incidents') })).rejects.toThrow('killed');
    expect(fake.indices.get(es.index)?.size).toBe(3);
    await expect(migrate({ progress: stopAfter('groups') })).rejects.toThrow('killed');
    const done = await migrate();
    expect(done).toMatchObject({
      ok: true,
      created: { incidents: 0, alert_links: 0, groups: 6, audit_entries: 0 },
      target: { incidents: 9, alert_links: 14, groups: 9, audit_entries: 2 },
    });
  });

  it('reports, and does not overwrite, a target document that differs, and fails on a count mismatch', async () => {
    await migrate();
    const ids = await allSqliteIds();
    const entry = fake.indices.get(es.index)?.get(ids[0] as string);
    (entry?.doc as unknown as IncidentLifecycleDoc).status = 'resolved';
    const r = await migrate();
    expect(r).toMatchObject({ ok: false, differing: { count: 1, first: [ids[0]] } });
    expect((entry?.doc as unknown as IncidentLifecycleDoc).status).toBe('resolved');

    (entry?.doc as unknown as IncidentLifecycleDoc).status = (await sqlite.get(ids[0] as string))
      ?.status as IncidentLifecycleDoc['status'];
    fake.indices.get(es.docs.alertsIndex)?.delete('a3');
    fake.indices.get(es.index)?.set('stray', { doc: { id: 'stray' }, seqNo: 9999, primaryTerm: 1 });
    // The deleted link is written again; the stray incident is not SQLite's: the counts disagree.
    expect(await migrate()).toMatchObject({
      ok: false,
      created: { alert_links: 1 },
      source: { incidents: 9 },
      target: { incidents: 10, alert_links: 14 },
    });
  });

  it('dry run: reads and converts everything, writes nothing', async () => {
    const phases: string[] = [];
    const r = await migrate({ dryRun: true, progress: (p) => phases.push(p.phase) });
    expect(r).toMatchObject({ ok: true, dry_run: true, source: { incidents: 9 }, audit: { copied: false } });
    expect(r.target).toBeUndefined();
    expect(new Set(phases)).toEqual(new Set(['incidents', 'alert_links', 'groups', 'audit']));
    expect(
      fake.requests.filter(
        (q) =>
          q.method !== 'GET' &&
          q.path !== '/_index_template/citysoc-incidents' &&
          q.path !== '/_index_template/citysoc-audit',
      ),
    ).toEqual([]);
  });

  it('counts an incident it cannot read instead of skipping it silently', async () => {
    const [id] = await allSqliteIds();
    control.db.prepare("UPDATE incidents SET tags = 'not json' WHERE id = ?").run(id);
    const r = await migrate();
    expect(r).toMatchObject({
      ok: false,
      unreadable: { count: 1, first: [{ id, error: `incident ${id}: column tags is not valid JSON` }] },
      target: { incidents: 8 },
    });
  });

  it('refuses a tampered SQLite audit chain (copying or re-chaining it would hide the tampering)', async () => {
    control.db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1").run();
    const r = await migrate();
    expect(r).toMatchObject({ ok: false, audit: { copied: false, source_verified: false, broken_at: 1 } });
    expect(fake.requestsTo('POST', '/_bulk')).toEqual([]);
    // Without the audit log (--no-audit) the incidents still move.
    expect(await migrate({ audit: false })).toMatchObject({ ok: true, audit: { copied: false } });
  });

  it('refuses to splice the SQLite chain into an Elasticsearch audit log with a history of its own', async () => {
    await audit.append({ actor: 'x', action: 'live', target: 't', outcome: 'success' });
    await expect(migrate()).rejects.toBeInstanceOf(AuditImportError);
    // Refused before any incident was written.
    expect(fake.indices.get(es.index)).toBeUndefined();
  });
});
