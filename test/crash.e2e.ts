import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import {
  type AppName,
  countEvents,
  octetCount,
  Pipeline,
  readEvents,
  readStream,
  repoRoot,
  waitFor,
} from '@citysoc/testing';

/**
 * kill -9 of any one app in the middle of a 10,000-line stream, then a restart: the store holds every event
 * exactly once, and alerts and incidents are neither lost nor duplicated.
 */
const TOTAL = 10_000;
const SENDERS = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'];
// Every 50th line is a failed SSH login from one attacker per sender → 200 alerts, 4 incidents of 50.
const EVERY = 50;

function linesFor(senderIndex: number, base: number): string[] {
  const per = TOTAL / SENDERS.length;
  return Array.from({ length: per }, (_, i) => {
    const n = senderIndex * per + i;
    const ts = new Date(base + n).toISOString();
    const msg =
      n % EVERY === 0
        ? `Failed password for invalid user u${n} from 198.51.100.${senderIndex + 1} port ${1024 + n} ssh2`
        : `session seq=${n} opened`;
    return `<38>1 ${ts} ward-${senderIndex}.hanoi.gov.vn sshd ${n} - - ${msg}`;
  });
}

function sendFrom(localAddress: string, port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => s.end(payload));
    s.on('close', () => resolve());
    s.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve() : reject(err),
    );
  });
}

function count(dataDir: string, file: string, sql: string): number {
  const db = new Database(path.join(dataDir, file), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe.each<AppName>(['indexer', 'detector', 'responder', 'collector'])(
  'when the %s is killed with SIGKILL mid-stream',
  (victim) => {
    // Only the rule this test counts: rules added to rules/ later (correlations on the same lines) must not
    // change what "200 alerts, 4 incidents" means here.
    const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-crash-rules-'));
    copyFileSync(
      path.join(repoRoot(), 'rules', 'linux', 'sshd_auth_failure.yml'),
      path.join(rulesDir, 'sshd_auth_failure.yml'),
    );
    // A 2 s ack wait: what the killed app held is redelivered after seconds, not the 30 s default.
    const pipeline = new Pipeline({
      env: { CITYSOC_BUILTIN_RULES: rulesDir, CITYSOC_NATS_ACK_WAIT_MS: '2000' },
    });
    beforeAll(() => pipeline.start(), 120_000);
    afterAll(async () => {
      await pipeline.stop();
      rmSync(rulesDir, { recursive: true, force: true });
    }, 60_000);

    it('ends with all 10,000 events stored once and no duplicate alert, incident or job', async () => {
      const base = Date.now() - 60_000;
      const payloads = SENDERS.map((_, i) => linesFor(i, base));
      const half = payloads.map((p) => octetCount(p.slice(0, p.length / 2)));
      const rest = payloads.map((p) => octetCount(p.slice(p.length / 2)));
      const events = `${pipeline.prefix}EVENTS`;

      await Promise.all(SENDERS.map((ip, i) => sendFrom(ip, pipeline.syslogPort, half[i]!)));
      await waitFor(
        async () => (await countEvents(events)) >= TOTAL / 4,
        'a quarter of the stream in EVENTS',
      );
      await pipeline.kill(victim);
      if (victim === 'collector') {
        // Whatever the killed collector had read but not stored is gone from its memory; like rsyslog's
        // disk-assisted queue, the senders retransmit, and deterministic event ids make that harmless.
        await pipeline.startApp('collector');
        await Promise.all(
          SENDERS.map((ip, i) => sendFrom(ip, pipeline.syslogPort, Buffer.concat([half[i]!, rest[i]!]))),
        );
      } else {
        await Promise.all(SENDERS.map((ip, i) => sendFrom(ip, pipeline.syslogPort, rest[i]!)));
        await pipeline.startApp(victim);
      }

      const dir = pipeline.dataDir;
      await waitFor(
        () => count(dir, 'events.sqlite', 'SELECT COUNT(*) AS n FROM events') === TOTAL,
        'all events stored',
        120_000,
      );
      await waitFor(
        () => count(dir, 'events.sqlite', 'SELECT COUNT(*) AS n FROM alerts') === TOTAL / EVERY,
        'all alerts stored',
        60_000,
      );
      await waitFor(
        () =>
          count(dir, 'citysoc.sqlite', 'SELECT COALESCE(SUM(alert_count), 0) AS n FROM incidents') ===
          TOTAL / EVERY,
        'all alerts grouped',
        60_000,
      );

      // Every event is on the bus. A killed collector's batches are re-formed from the senders' resend, so
      // the bus may then carry an event twice (under the same event.id) — the store above still holds it once.
      const onBus = (await readEvents<{ event: { id: string } }>(events)).map((e) => e.doc.event.id);
      expect(new Set(onBus).size).toBe(TOTAL);
      if (victim !== 'collector') expect(onBus).toHaveLength(TOTAL);
      expect((await readStream(`${pipeline.prefix}ALERTS`)).length).toBe(TOTAL / EVERY);
      expect(
        count(
          dir,
          'events.sqlite',
          "SELECT COUNT(DISTINCT json_extract(doc, '$.process.pid')) AS n FROM events",
        ),
      ).toBe(TOTAL);
      expect(count(dir, 'citysoc.sqlite', 'SELECT COUNT(*) AS n FROM incidents')).toBe(SENDERS.length);
      expect(count(dir, 'citysoc.sqlite', 'SELECT COUNT(*) AS n FROM incident_alerts')).toBe(TOTAL / EVERY);
      expect(count(dir, 'citysoc.sqlite', 'SELECT MIN(alert_count) AS n FROM incidents')).toBe(
        TOTAL / EVERY / SENDERS.length,
      );

      const queue = new Queue('incidents', {
        connection: { host: '127.0.0.1', port: 6379 },
        prefix: pipeline.queuePrefix,
      });
      try {
        await waitFor(
          () =>
            count(dir, 'citysoc.sqlite', 'SELECT COUNT(*) AS n FROM incidents WHERE queued = 1') ===
            SENDERS.length,
          'all incidents queued',
        );
        const counts = await queue.getJobCounts('prioritized', 'waiting', 'active', 'completed', 'failed');
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(SENDERS.length);
      } finally {
        await queue.close();
      }
    }, 240_000);
  },
);
