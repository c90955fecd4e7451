import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EcsEvent } from '@citysoc/ecs';
import { compileRules, loadRulesFromText, type SigmaRule } from '@citysoc/sigma';
import { auditLogContract } from '../contract/audit-log.contract.test';
import { eventStoreContract } from '../contract/event-store.contract.test';
import { incidentAggregatesContract } from '../contract/incident-aggregates.contract.test';
import { incidentActionsContract } from '../contract/incident-actions.contract.test';
import { incidentGroupingContract } from '../contract/incident-grouping.contract.test';
import { incidentQueueContract } from '../contract/incident-queue.contract.test';
import { incidentStoreContract } from '../contract/incident-store.contract.test';
import { ElasticsearchIncidentStore } from './incident-store';
import { ElasticsearchIncidentDocs } from './incident-docs';
import { type AuditEntry } from '../sqlite/audit-log';
import { ElasticsearchAuditLog } from './audit-log';
import { retroHunt } from '../hunt/retro-hunt';
import { createElasticsearchClient } from './client';
import { ElasticsearchEventStore } from './event-store';
import { DEFAULT_LAYOUT, dataStreamName } from './templates';
import { openControlStore } from '../sqlite/control';
import { ElasticsearchIncidentImporter, migrateIncidents, SqliteIncidentSource } from './migrate';
import { seedSqliteHistory, T0 } from './testing/sqlite-history.test';
import { seedUnderOlderTemplate } from './testing/older-template.test';

/**
 * The contract against a real Elasticsearch (8.x/9.x). Runs only where ELASTICSEARCH_URL is set (plus
 * ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/PASSWORD and ELASTICSEARCH_CA_FILE as needed); otherwise
 * jest lists every test as skipped. Each test writes to its own namespaces and deletes them afterwards;
 * the templates and ILM policies it installs are the production ones (PUT, so re-running is harmless).
 */
const url = process.env['ELASTICSEARCH_URL'];
const suite = url ? describe : describe.skip;

function realClient() {
  return createElasticsearchClient({
    url: url as string,
    ...(process.env['ELASTICSEARCH_API_KEY'] ? { apiKey: process.env['ELASTICSEARCH_API_KEY'] } : {}),
    ...(process.env['ELASTICSEARCH_USERNAME'] ? { username: process.env['ELASTICSEARCH_USERNAME'] } : {}),
    ...(process.env['ELASTICSEARCH_PASSWORD'] ? { password: process.env['ELASTICSEARCH_PASSWORD'] } : {}),
    ...(process.env['ELASTICSEARCH_CA_FILE'] ? { caFile: process.env['ELASTICSEARCH_CA_FILE'] } : {}),
  });
}

function openReal(): { store: ElasticsearchEventStore; cleanup: () => Promise<void> } {
  const tag = randomBytes(4).toString('hex');
  const namespace = `t${tag}`;
  const drillNamespace = `t${tag}drill`;
  const client = realClient();
  const store = new ElasticsearchEventStore(client, {
    layout: { ...DEFAULT_LAYOUT, namespace, drillNamespace, readNamespaces: [namespace, drillNamespace] },
    // Read-your-writes for the tests; production leaves refresh to the refresh interval.
    bulk: { refresh: 'wait_for' },
  });
  return {
    store,
    cleanup: async () => {
      const names = (['syslog', 'flow', 'alerts'] as const).flatMap((c) => [
        dataStreamName(c, namespace),
        dataStreamName(c, drillNamespace),
      ]);
      await client.indices.deleteDataStream({ name: names.join(',') }, { ignore: [404] });
      await store.close();
    },
  };
}

suite(`AuditLog contract: real Elasticsearch at ${url ?? '(skipped: set ELASTICSEARCH_URL to run)'}`, () => {
  auditLogContract(async () => {
    const client = realClient();
    // Its own indices and template per test, deleted afterwards.
    const log = new ElasticsearchAuditLog(client, {
      index: `citysoc-audit-t${randomBytes(4).toString('hex')}`,
    });
    await log.install();
    return {
      log,
      edit: async (seq: number, patch: Partial<Omit<AuditEntry, 'seq'>>) => {
        const cur = await client.get<AuditEntry>({ index: log.index, id: String(seq) });
        await client.index({ index: log.index, id: String(seq), document: { ...cur._source, ...patch } });
      },
      remove: async (seq: number) => {
        await client.delete({ index: log.index, id: String(seq) });
      },
      cleanup: async () => {
        await client.indices.delete(
          { index: [log.index, log.headIndex], expand_wildcards: 'all' },
          { ignore: [404] },
        );
        await client.indices.deleteIndexTemplate({ name: log.index }, { ignore: [404] });
        await client.close();
      },
    };
  });
});

suite(
  `EventStore contract: real Elasticsearch at ${url ?? '(skipped: set ELASTICSEARCH_URL to run)'}`,
  () => {
    eventStoreContract(async () => openReal());
  },
);

const huntEvent = (i: number, extra: Partial<EcsEvent>): EcsEvent => ({
  '@timestamp': `2026-11-27T05:00:${String(i).padStart(2, '0')}.000Z`,
  message: `event ${i}`,
  event: { id: `h-${i}`, created: '2026-11-27T05:00:00.000Z', module: 'syslog', dataset: 'syslog' },
  ...extra,
});

const HUNT_EVENTS: EcsEvent[] = [
  huntEvent(1, {
    message: 'Failed password for root from 10.1.2.3 port 22 ssh2',
    source: { ip: '10.1.2.3', port: 22 },
  }),
  huntEvent(2, {
    message: 'Accepted password for alice',
    user: { name: 'Alice' },
    source: { ip: '192.168.1.5' },
  }),
  huntEvent(3, { message: 'Đăng nhập thất bại', user: { name: 'admin-ops' }, source: { ip: 'fd00::5' } }),
  huntEvent(4, { process: { name: 'bash', command_line: 'powershell /enc SQBFAFgA' } }),
  huntEvent(5, { network: { bytes: 5000 }, destination: { ip: '10.9.9.9', port: 443 } }),
  huntEvent(6, { message: 'kernel: segfault at 0 ip 00007f', tags: ['drill'] }),
];

const HUNT_RULES = [
  `sel: { message|contains: 'failed password' }\ncondition: sel`,
  `sel: { user.name: alice }\ncondition: sel`,
  `sel: { user.name|cased: alice }\ncondition: sel`,
  `sel: { source.ip|cidr: [10.0.0.0/8, 'fd00::/8'] }\ncondition: sel`,
  `sel: { message|re: 'for (root|alice)' }\ncondition: sel`,
  `sel: { process.command_line|windash|contains: ' -enc ' }\ncondition: sel`,
  `sel: { network.bytes|gte: 1000 }\ncondition: sel`,
  `sel: { destination.port: 443 }\ncondition: sel`,
  `sel: { user.name|exists: true }\nf: { user.name|startswith: adm }\ncondition: sel and not f`,
  `keywords: [segfault]\ncondition: keywords`,
];

function huntRule(i: number, detection: string): SigmaRule {
  const text = `title: hunt ${i}\nid: 6f1e3c52-6a2f-4e0b-9b8a-${String(i).padStart(12, '0')}\nlogsource: { product: linux }\nlevel: low\ndetection:\n${detection
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n')}\n`;
  const rule = loadRulesFromText(text, `hunt-${i}.yml`).rules[0];
  if (!rule) throw new Error(`rule ${i} does not load`);
  return rule;
}

suite(`Retro-hunt on real Elasticsearch at ${url ?? '(skipped: set ELASTICSEARCH_URL to run)'}`, () => {
  let real: ReturnType<typeof openReal>;
  beforeAll(async () => {
    real = openReal();
    expect(await real.store.insertEvents(HUNT_EVENTS)).toBe(HUNT_EVENTS.length);
  });
  afterAll(() => real.cleanup());

  it.each(HUNT_RULES.map((d, i) => [d, i] as const))("%s: the matcher's matches", async (det, i) => {
    const rule = huntRule(i + 1, det);
    const set = compileRules([rule]);
    const want = HUNT_EVENTS.filter((e) => set.match(e as Record<string, unknown>).length > 0)
      .map((e) => e.event.id)
      .sort();
    const got = await retroHunt(real.store, rule, {});
    expect(got.engine).toBe('elasticsearch');
    expect(got.matches.map((m) => m.event.event.id).sort()).toEqual(want);
  });
});

/** Incident documents on their own indices (`citysoc-incidents-t<random>*`, template included), deleted after. */
function openIncidents(now?: () => number) {
  const client = realClient();
  const index = `citysoc-incidents-t${randomBytes(4).toString('hex')}`;
  const audit = new ElasticsearchAuditLog(client, { index: `${index}-audit` });
  const docs = new ElasticsearchIncidentDocs(client, { index, audit });
  return {
    client,
    audit,
    docs,
    store: new ElasticsearchIncidentStore(client, { index, audit, ...(now ? { now } : {}) }),
    ready: Promise.all([docs.install(), audit.install()]),
    cleanup: async () => {
      // By name: clusters refuse wildcard deletes by default (action.destructive_requires_name).
      const names = ['', '-groups', '-alerts', '-audit', '-audit-head'].map((x) => `${index}${x}`);
      await client.indices.delete({ index: names.join(','), ignore_unavailable: true }, { ignore: [404] });
      await client.indices.deleteIndexTemplate({ name: index }, { ignore: [404] });
      await client.indices.deleteIndexTemplate({ name: `${index}-audit` }, { ignore: [404] });
      await client.close();
    },
  };
}

suite(
  `Incident contracts on real Elasticsearch at ${url ?? '(skipped: set ELASTICSEARCH_URL to run)'}`,
  () => {
    describe('actions', () => {
      incidentActionsContract(async () => {
        const o = openIncidents();
        await o.ready;
        const view = (d: Awaited<ReturnType<typeof o.docs.get>>) =>
          d && {
            status: d.status,
            assignee: d.assignee,
            reason: d.reason,
            duplicate_of: d.duplicate_of,
            tags: d.tags,
            acknowledged: d.acknowledged_at !== null,
            closed: d.closed_at !== null,
            reopened: d.reopened_at !== null,
          };
        const must = async (id: string) => {
          const d = await o.docs.get(id);
          if (!d) throw new Error(`incident ${id} vanished`);
          return d;
        };
        return {
          open: async (name, unitPath) => (await o.docs.create(`inc-${name}`, 'responder', { unitPath })).id,
          get: async (id, scope) => view(await o.docs.get(id, scope)),
          transition: async (id, input, actor, scope) =>
            view((await o.docs.transition(id, input, actor, scope)).after) as NonNullable<
              ReturnType<typeof view>
            >,
          assign: async (id, a, actor, scope) =>
            view((await o.docs.assign(id, a, actor, scope)).after) as NonNullable<ReturnType<typeof view>>,
          comment: async (id, actor, text, scope) => {
            await o.docs.comment(id, actor, text, scope);
          },
          setTags: async (id, add, remove, actor, scope) =>
            view((await o.docs.setTags(id, add, remove, actor, scope)).after) as NonNullable<
              ReturnType<typeof view>
            >,
          comments: async (id) => (await must(id)).comments.map((c) => ({ actor: c.actor, text: c.text })),
          history: async (id) =>
            (await must(id)).history
              .slice(1)
              .map((h) => ({ actor: h.actor, from: h.from, to: h.to, text: h.text })),
          cleanup: o.cleanup,
        };
      });
    });
    describe('grouping', () => {
      incidentGroupingContract(async () => {
        const o = openIncidents();
        await o.ready;
        return {
          record: async (alert, policy) => {
            const r = await o.docs.recordAlert(alert, policy);
            return {
              id: r.incident.id,
              created: r.created,
              duplicate: r.duplicate,
              reopened: r.reopened,
              ...(r.severityRaised !== undefined ? { severityRaised: r.severityRaised } : {}),
            };
          },
          get: async (id) => {
            const d = await o.docs.get(id);
            return (
              d?.group && {
                status: d.status,
                severity: d.group.severity,
                alert_count: d.group.alert_count,
                rule_ids: d.group.rule_ids,
                generation: d.group.generation,
                priority: d.group.priority,
                tags: d.tags,
                unit_path: d.unit_path,
                title: d.group.title,
              }
            );
          },
          transition: async (id, input, actor) => {
            await o.docs.transition(id, input, actor);
          },
          cleanup: o.cleanup,
        };
      });
    });
    it('migrates a SQLite history that reads back as SQLite answers it, and a re-run writes nothing', async () => {
      const clock = { ms: T0 };
      const o = openIncidents(() => clock.ms);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-migrate-real-'));
      const control = openControlStore(dir);
      try {
        await o.ready;
        const sqlite = await seedSqliteHistory(control, clock);
        const run = () =>
          migrateIncidents(
            new SqliteIncidentSource(control.db),
            { importer: new ElasticsearchIncidentImporter(o.client, o.store), audit: o.audit },
            { batchSize: 4 },
          );
        expect(await run()).toMatchObject({ ok: true, created: { incidents: 9, alert_links: 14 } });
        for (const i of (await sqlite.list({ limit: 100 })).items) {
          expect(await o.store.get(i.id)).toEqual({ ...i, claim_expires_at: null });
          expect(await o.store.notes(i.id)).toEqual(await sqlite.notes(i.id));
          expect(await o.store.evidence(i.id)).toEqual(await sqlite.evidence(i.id));
        }
        expect(await o.audit.verify()).toEqual(control.audit.verify());
        expect(await run()).toMatchObject({
          ok: true,
          created: { incidents: 0 },
          existing: { incidents: 9 },
        });
      } finally {
        control.close();
        rmSync(dir, { recursive: true, force: true });
        await o.cleanup();
      }
    });
    it('maps on an incident index of an earlier release the fields it lacks, and re-indexes it in place', async () => {
      const client = realClient();
      const index = `citysoc-incidents-t${randomBytes(4).toString('hex')}`;
      const store = new ElasticsearchIncidentStore(client, { index, now: () => T0 });
      try {
        await seedUnderOlderTemplate(client, store, T0);
        const alerts = async () => (await store.incidentRuleStats('hanoi')).map((r) => [r.rule_id, r.alerts]);
        expect(await alerts()).toEqual([['r-1', 0]]);
        const upgrades = await store.install();
        expect(upgrades[0]?.added).toEqual(expect.arrayContaining(['group.alert_count']));
        for (const u of upgrades)
          if (u.task) await client.tasks.get({ task_id: u.task, wait_for_completion: true, timeout: '60s' });
        await store.refresh();
        expect(await alerts()).toEqual([['r-1', 3]]);
        expect(await store.install()).toEqual([]);
      } finally {
        const names = ['', '-groups', '-alerts'].map((x) => `${index}${x}`);
        await client.indices.delete({ index: names.join(','), ignore_unavailable: true }, { ignore: [404] });
        await client.indices.deleteIndexTemplate({ name: index }, { ignore: [404] });
        await client.close();
      }
    });
    describe('the whole incident port', () => {
      incidentStoreContract(async (clock) => {
        const o = openIncidents(() => clock.ms);
        await o.ready;
        return { store: o.store, settle: () => o.store.refresh(), cleanup: o.cleanup };
      });
    });
    describe('the queue views of the incident port', () => {
      incidentQueueContract(async (clock) => {
        const o = openIncidents(() => clock.ms);
        await o.ready;
        return { store: o.store, settle: () => o.store.refresh(), cleanup: o.cleanup };
      });
    });
    describe('the incident statistics (aggregations)', () => {
      incidentAggregatesContract(async (clock) => {
        const o = openIncidents(() => clock.ms);
        await o.ready;
        return { store: o.store, settle: () => o.store.refresh(), cleanup: o.cleanup };
      });
    });
  },
);
