/**
 * End-to-end ingest benchmark: TCP syslog in (octet-counted, like rsyslog) → JetStream → detector + indexer
 * → SQLite, with alerts raised for one line in ten. Prints events/s and receipt→alert / receipt→stored
 * latency percentiles. Runs the real apps as processes, on an isolated prefix, and cleans up after itself.
 *
 *   npm run bench            (BENCH_EVENTS=50000 BENCH_CONNECTIONS=4 to change the load)
 */
import Database from 'better-sqlite3';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type AppName, octetCount, Pipeline, waitFor } from '../support';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 50_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const ALERT_EVERY = 10;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function send(port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(payload));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

async function main(): Promise<void> {
  // BENCH_PROFILE=collector writes a V8 CPU profile of that app to BENCH_PROFILE_DIR (default /tmp/citysoc-prof).
  const profiled = process.env.BENCH_PROFILE as AppName | undefined;
  const pipeline = new Pipeline({
    apps: ['indexer', 'detector', 'collector'],
    ...(profiled
      ? {
          nodeArgs: {
            [profiled]: [
              '--cpu-prof',
              `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR ?? '/tmp/citysoc-prof'}`,
            ],
          },
        }
      : {}),
  });
  await pipeline.start();
  try {
    const base = Date.now();
    const per = Math.ceil(TOTAL / CONNECTIONS);
    const payloads: Buffer[] = [];
    for (let c = 0; c < CONNECTIONS; c++) {
      const lines: string[] = [];
      for (let i = 0; i < per && c * per + i < TOTAL; i++) {
        const n = c * per + i;
        const msg =
          n % ALERT_EVERY === 0
            ? `Failed password for invalid user u${n} from 198.51.100.${n % 250} port ${1024 + (n % 60000)} ssh2`
            : `pam_unix(sshd:session): session opened for user u${n} by (uid=0)`;
        lines.push(
          `<38>1 ${new Date(base + n).toISOString()} phuong-${c}.hanoi.gov.vn sshd ${1000 + (n % 30000)} - - ${msg}`,
        );
      }
      payloads.push(octetCount(lines));
    }
    const db = path.join(pipeline.dataDir, 'events.sqlite');
    const count = (sql: string) => {
      const d = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return (d.prepare(sql).get() as { n: number }).n;
      } finally {
        d.close();
      }
    };
    const t0 = process.hrtime.bigint();
    await Promise.all(payloads.map((p) => send(pipeline.syslogPort, p)));
    const tSent = process.hrtime.bigint();
    await waitFor(() => count('SELECT COUNT(*) AS n FROM events') >= TOTAL, 'all events stored', 600_000);
    const tStored = process.hrtime.bigint();
    const expectedAlerts = Math.ceil(TOTAL / ALERT_EVERY);
    await waitFor(
      () => count('SELECT COUNT(*) AS n FROM alerts') >= expectedAlerts,
      'all alerts stored',
      600_000,
    );
    const tAlerts = process.hrtime.bigint();

    const d = new Database(db, { readonly: true });
    const stored = (
      d
        .prepare(
          "SELECT (ingested - CAST(strftime('%s', json_extract(doc, '$.event.created')) AS INTEGER) * 1000 - CAST(substr(json_extract(doc, '$.event.created'), 21, 3) AS INTEGER)) AS ms FROM events",
        )
        .all() as Array<{ ms: number }>
    )
      .map((r) => r.ms)
      .sort((a, b) => a - b);
    const alertLat = (d.prepare('SELECT doc FROM alerts').all() as Array<{ doc: string }>)
      .map((r) => {
        const a = JSON.parse(r.doc) as { created_at: string; event: { event: { created: string } } };
        return Date.parse(a.created_at) - Date.parse(a.event.event.created);
      })
      .sort((a, b) => a - b);
    d.close();

    const secs = (a: bigint, b: bigint) => Number(b - a) / 1e9;
    const result = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      events: TOTAL,
      connections: CONNECTIONS,
      alerts: expectedAlerts,
      rules: 'citysoc rules/ (5)',
      send_seconds: secs(t0, tSent).toFixed(2),
      stored_seconds: secs(t0, tStored).toFixed(2),
      events_per_second_stored: Math.round(TOTAL / secs(t0, tStored)),
      alerts_done_seconds: secs(t0, tAlerts).toFixed(2),
      receipt_to_stored_ms: { p50: pct(stored, 50), p99: pct(stored, 99), max: stored[stored.length - 1] },
      receipt_to_alert_ms: {
        p50: pct(alertLat, 50),
        p99: pct(alertLat, 99),
        max: alertLat[alertLat.length - 1],
      },
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await pipeline.stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
