/// <reference lib="dom" />
/**
 * Console benchmark: 10,000 open incidents in the real SQLite store, the built API serving the built
 * console. Prints API latency percentiles for a 100-row queue page with group counts, the time from
 * navigation to the painted queue grid in Debian's chromium (playwright-core), and last (it closes them
 * all) a bulk false-positive job over every incident: time to the job's answer, to its first progress and
 * to its end, with the API process's CPU seconds.
 *
 *   npm run bench:console          (BENCH_INCIDENTS=10000 BENCH_REQUESTS=100 BENCH_PAINTS=10)
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { type Alert } from '@citysoc/ecs';
import { openControlStore, SqliteIncidentStore } from '@citysoc/store';
import { alert as alertFixture, event as eventFixture } from '../../libs/stix/src/testing/fixtures';
import { Pipeline } from '../support';

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100);
const PAINTS = Number(process.env.BENCH_PAINTS ?? 10);
const CHROMIUM = process.env.CITYSOC_CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';
const LEVELS = ['low', 'medium', 'high', 'critical'] as const;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function seed(dataDir: string): Promise<void> {
  const control = openControlStore(dataDir);
  const incidents = new SqliteIncidentStore(control.db);
  const now = Date.now();
  for (let i = 0; i < INCIDENTS; i++) {
    const u = i % 40;
    const ev = eventFixture({
      '@timestamp': new Date(now - (i % 1440) * 60_000).toISOString(),
      citysoc: {
        unit: {
          id: `w${u}`,
          name: `Phường ${u}`,
          path: ['hanoi', `q${u % 8}`, `w${u}`],
          criticality: 'medium',
        },
      },
    });
    ev.event = { ...ev.event, id: `ev-bench-${i}` };
    const a: Alert = alertFixture(ev, i);
    a.id = `al-bench-${i}`;
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    ev.source = { ip, port: 40000 };
    a.entity = `source.ip:${ip}`;
    a.rule = { ...a.rule, id: `rule-${i % 25}`, level: LEVELS[i % 4]! };
    await incidents.recordAlert(a, 30 * 60_000);
  }
  control.close();
}

async function main(): Promise<void> {
  const pipeline = new Pipeline({ apps: ['api'] });
  try {
    let t = Date.now();
    await seed(pipeline.dataDir);
    console.log(`seeded ${INCIDENTS} alerts in ${Date.now() - t} ms`);
    await pipeline.start();
    const user = await pipeline.api('POST', '/api/v1/users', {
      username: 'bench',
      password: PASSWORD,
      role: 'analyst',
    });
    if (user.status !== 201) throw new Error(`could not create the bench user: ${user.status}`);

    const route = '/api/v1/console/queue?view=open&size=100&group=unit';
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < REQUESTS; i++) {
      t = performance.now();
      const r = await pipeline.api<{ total: number; items: unknown[] }>(
        'GET',
        `${route}&page=${(i % 10) + 1}`,
      );
      times.push(performance.now() - t);
      if (r.status !== 200 || r.body.items.length !== 100)
        throw new Error(
          `unexpected answer ${r.status} with ${r.body.items?.length} items of ${r.body.total}`,
        );
      total = r.body.total;
    }
    times.sort((a, b) => a - b);
    console.log(
      `API ${route} over ${total} open: p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms (n=${REQUESTS})`,
    );

    if (!existsSync(CHROMIUM)) console.log(`queue paint: skipped, no chromium at ${CHROMIUM}`);
    else await paint(pipeline);
    await bulkJob(pipeline, total);
  } finally {
    await pipeline.stop();
  }
}

/** CPU seconds (user + system) of a process so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return NaN;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function bulkJob(pipeline: Pipeline, total: number): Promise<void> {
  const from = new Date(Date.now() - 2 * 24 * 3600_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const pid = pipeline.pid('api');
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const started = await pipeline.api<{ id: string; matched: number }>('POST', '/api/v1/console/bulk/jobs', {
    view: 'open',
    from,
    to,
    expected: total,
    reason: 'bench',
  });
  const answered = performance.now() - t0;
  if (started.status !== 202)
    throw new Error(`bulk job refused: ${started.status} ${JSON.stringify(started.body)}`);
  let first = NaN;
  let job: { status: string; done: number; succeeded: number; failed: number } = {
    status: 'running',
    done: 0,
    succeeded: 0,
    failed: 0,
  };
  while (job.status === 'running') {
    await new Promise((r) => setTimeout(r, 50));
    job = (await pipeline.api<typeof job>('GET', `/api/v1/console/bulk/jobs/${started.body.id}`)).body;
    if (Number.isNaN(first) && job.done > 0) first = performance.now() - t0;
  }
  const end = performance.now() - t0;
  const cpu = cpuSeconds(pid) - cpu0;
  console.log(
    `bulk false-positive job over ${started.body.matched}: answered ${answered.toFixed(0)} ms, first progress ${first.toFixed(0)} ms, finished ${end.toFixed(0)} ms (${job.status}: ${job.succeeded} succeeded, ${job.failed} failed); API CPU ${cpu.toFixed(2)} s = ${(job.succeeded / cpu).toFixed(0)} incidents per CPU-second; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

async function paint(pipeline: Pipeline): Promise<void> {
  {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
      const page = await ctx.newPage();
      await page.goto(`${pipeline.apiUrl}/login`);
      await page.fill('input[autocomplete="username"]', 'bench');
      await page.fill('input[autocomplete="current-password"]', PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForSelector('table[role="grid"] tbody tr');
      const paints: number[] = [];
      for (let i = 0; i < PAINTS; i++) {
        // Navigation start → first painted frame with the grid's 50 rows (the session stays in this tab).
        await page.goto(`${pipeline.apiUrl}/queue?view=open&page=${i + 1}`);
        await page.waitForFunction(
          () => document.querySelectorAll('table[role="grid"] tbody tr').length === 50,
        );
        paints.push(
          await page.evaluate(
            () => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now()))),
          ),
        );
      }
      paints.sort((a, b) => a - b);
      console.log(
        `queue paint (navigation → grid rows painted): p50 ${pct(paints, 50).toFixed(0)} ms, p95 ${pct(paints, 95).toFixed(0)} ms (n=${PAINTS})`,
      );
    } finally {
      await browser.close();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
