import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { type Alert } from '@citysoc/ecs';
import { DEFAULT_GROUPING } from '@citysoc/incidents';
import { redisConnection } from '@citysoc/queues';
import { REPORTS_QUEUE } from '@citysoc/reports';
import { openControlStore, openEventStore, SqliteIncidentStore } from '@citysoc/store';
import { cleanupStreams, repoRoot, uniquePrefix, waitFor } from '@citysoc/testing';
import { alert, event } from '../libs/stix/src/testing/fixtures';
import { TaxiiTestServer } from './taxii/server';
import { objectVersion, type StixObject } from '@citysoc/stix';

/**
 * kill -9 of the reporter in the middle of a delivery (an envelope stored by the server, its answer not yet
 * received), then a restart: the rest of the report is delivered, the envelope in doubt is re-sent and counted
 * as already held, and nothing acknowledged before the kill is sent again.
 */
const COLL = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';
const MAIN = path.join(repoRoot(), 'dist', 'apps', 'reporter', 'src', 'main.js');

describe('reporter killed mid-delivery', () => {
  let dir: string;
  let server: TaxiiTestServer;
  let child: ChildProcess | undefined;
  const streamPrefix = uniquePrefix();
  const prefix = `citysoc-${streamPrefix}`;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build first`);
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-reporter-crash-'));
    // Small enough that the report needs several envelopes.
    // Duplicates answered as failures (as medallion does): the client must still count them as delivered.
    server = await TaxiiTestServer.start({ maxContentLength: 3000, duplicates: 'failure' });
    const control = openControlStore(dir);
    const incidents = new SqliteIncidentStore(control.db);
    const events = openEventStore(dir);
    const list: Alert[] = [];
    for (let i = 0; i < 6; i++) {
      const ev = event({
        '@timestamp': new Date(Date.parse('2026-11-27T07:40:00Z') + i * 1000).toISOString(),
      });
      // Six distinct public attackers: six indicators, sightings and relationships.
      ev.source = { ip: `185.220.101.${10 + i}`, port: 40000 + i };
      ev.event.id = `ev-${i}`;
      const a = alert(ev, i);
      a.entity = 'destination.ip:10.20.1.15';
      list.push(a);
    }
    await events.insertAlerts(list);
    // One incident about the attacked host: group by destination, not by each attacker's address.
    const grouping = { ...DEFAULT_GROUPING, entityFields: ['destination.ip'], windowMs: 30 * 60_000 };
    for (const a of list) await incidents.recordAlert(a, grouping);
    await events.close();
    control.close();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    const redis = redisConnection(process.env.CITYSOC_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const q = new Queue(REPORTS_QUEUE, { connection: redis, prefix });
    await q.obliterate({ force: true });
    await new Queue('report-schedules', { connection: redis, prefix }).obliterate({ force: true });
    await q.close();
    redis.disconnect();
    await server.close();
    await cleanupStreams(streamPrefix);
    rmSync(dir, { recursive: true, force: true });
  });

  function start(): ChildProcess {
    const c = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        CITYSOC_DATA_DIR: dir,
        CITYSOC_QUEUE_PREFIX: prefix,
        // The reporter publishes IOCs to a KV bucket: its own streams, small, removed afterwards.
        CITYSOC_STREAM_PREFIX: streamPrefix,
        CITYSOC_EVENTS_MAX_BYTES: String(64 * 1024 ** 2),
        CITYSOC_TAXII_URL: server.apiRootUrl,
        CITYSOC_TAXII_COLLECTION: COLL,
        CITYSOC_TAXII_USER: 'reporter',
        CITYSOC_TAXII_PASSWORD: 'secret',
        CITYSOC_REPORTER_METRICS_PORT: '-1',
        CITYSOC_REPORT_POLL_SECONDS: '1',
        CITYSOC_REPORT_RETRY_BASE_MS: '100',
        CITYSOC_REPORT_RETRY_MAX_MS: '1000',
        CITYSOC_REPORT_DAILY_CRON: 'off',
        CITYSOC_REPORT_SIX_MONTHLY_CRON: 'off',
        CITYSOC_REPORT_YEARLY_CRON: 'off',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return c;
  }

  it('delivers exactly the objects that were not acknowledged before the kill', async () => {
    const held = server.holdPost(2);
    child = start();
    await held;
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;

    const before = server.posts.map((p) => p.map((o) => `${o.id}|${o.version}`));
    expect(before).toHaveLength(2);
    const control = openControlStore(dir);
    let reportId: string;
    let all: string[];
    let acked: Set<string>;
    try {
      const v = control.reports.listVersions()[0]!;
      reportId = v.id;
      expect(v.state).toBe('pending');
      all = (v.bundle.objects as StixObject[]).map((o) => `${o.id}|${objectVersion(o)}`);
      acked = control.reports.acknowledged(
        COLL,
        all.map((k) => ({ id: k.split('|')[0]!, version: k.split('|')[1]! })),
      );
    } finally {
      control.close();
    }
    // Envelope 1 was answered and recorded; envelope 2 reached the server but not its answer.
    expect([...acked].sort()).toEqual([...before[0]!].sort());
    expect(all.length).toBeGreaterThan(before[0]!.length + before[1]!.length);

    child = start();
    await waitFor(
      async () => {
        const c = openControlStore(dir);
        try {
          return c.reports.get(reportId)?.state === 'delivered';
        } finally {
          c.close();
        }
      },
      'delivery after the restart',
      120_000,
    );
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;

    const after = server.posts
      .slice(2)
      .flat()
      .map((o) => `${o.id}|${o.version}`);
    const missing = all.filter((k) => !acked.has(k));
    expect(after.sort()).toEqual([...missing].sort());
    for (const k of before[0]!) expect(after).not.toContain(k);
    // The server holds every object of the report once.
    const stored = server.stored(COLL).map((o) => o.id);
    expect(new Set(stored).size).toBe(stored.length);
    expect(new Set(stored)).toEqual(new Set(all.map((k) => k.split('|')[0])));
    const c = openControlStore(dir);
    try {
      const d = c.reports.listDeliveries({ reportId, outcome: 'delivered' })[0]!;
      expect(d.already_present).toBe(before[1]!.length);
      expect(d.sent).toBe(missing.length);
      expect(c.audit.verify().ok).toBe(true);
    } finally {
      c.close();
    }
  }, 180_000);
});
