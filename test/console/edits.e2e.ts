/// <reference lib="dom" />
import { type Browser, type Page } from 'playwright-core';
import { connect } from 'nats';
import { busNames, RULE_STATS_BUCKET, type RuleStatsSnapshot } from '@citysoc/bus';
import { DRILL_RUNS_BUCKET, type DrillRunRecord } from '@citysoc/drills';
import { type Alert } from '@citysoc/ecs';
import { openControlStore, openEventStore, SqliteIncidentStore } from '@citysoc/store';
import { Pipeline } from '@citysoc/testing';
import { alert as alertFixture, event as eventFixture } from '../../libs/stix/src/testing/fixtures';
import { axe, describeWithChromium, launchChromium, login, PASSWORD } from './browser';
import { seed, ward } from './seed';

const d = describeWithChromium('console e2e: evidence, merge, split, ATT&CK names and drill layer');

/** Alerts about 203.0.113.x in Hàng Bạc: three about .7 (one incident), one about .8 (another). */
async function seedEdits(dataDir: string, now: number): Promise<void> {
  const control = openControlStore(dataDir);
  const incidents = new SqliteIncidentStore(control.db);
  const events = openEventStore(dataDir);
  const list: Alert[] = [];
  for (const [i, ip] of [
    [0, '203.0.113.7'],
    [1, '203.0.113.7'],
    [2, '203.0.113.7'],
    [3, '203.0.113.8'],
  ] as const) {
    const ts = new Date(now - (10 - i) * 60_000).toISOString();
    const ev = eventFixture({
      '@timestamp': ts,
      citysoc: ward(['hanoi', 'hoan-kiem', 'hang-bac'], 'Phường Hàng Bạc'),
    });
    ev.event = { ...ev.event, id: `ev-edit-${i}`, created: ts };
    ev.source = { ip, port: 50000 + i };
    const a = alertFixture(ev, 100 + i);
    a.id = `al-edit-${i}`;
    a.entity = `source.ip:${ip}`;
    a.rule = {
      ...a.rule,
      id: 'rule-edit',
      title: 'Edit test rule',
      tags: ['attack.credential-access', 'attack.t1110.001'],
    };
    list.push(a);
  }
  await events.insertEvents(list.map((a) => a.event));
  await events.insertAlerts(list);
  for (const a of list) await incidents.recordAlert(a, 30 * 60_000);
  await events.close();
  control.close();
}

d.each(['vi', 'en'] as const)('incident edits (%s)', (lang) => {
  const pipeline = new Pipeline({ apps: ['api'], env: { CITYSOC_LOGIN_RATE_PER_MINUTE: '100' } });
  let browser: Browser;
  let big = '';
  let small = '';

  beforeAll(async () => {
    const now = Date.now();
    await seed(pipeline.dataDir, now);
    await seedEdits(pipeline.dataDir, now);
    await pipeline.start();
    const r = await pipeline.api('POST', '/api/v1/users', {
      username: 'phan.tich',
      password: PASSWORD,
      role: 'responder',
    });
    expect(r.status).toBe(201);
    const list = await pipeline.api<{ items: Array<{ id: string; entity: string }> }>(
      'GET',
      '/api/v1/incidents?rule_id=rule-edit&limit=10',
    );
    big = list.body.items.find((i) => i.entity === 'source.ip:203.0.113.7')!.id;
    small = list.body.items.find((i) => i.entity === 'source.ip:203.0.113.8')!.id;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await pipeline.stop();
  });

  async function newPage(): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, timezoneId: 'UTC' });
    return ctx.newPage();
  }

  it('pins an alert as evidence with a note (key p), shows it, and unpins it', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/incidents/${big}`);
    await page.waitForSelector('[data-testid="evidence"]');
    await page.keyboard.press('p');
    await page.waitForSelector('[role="dialog"] select');
    await page.selectOption('[role="dialog"] select', 'alert:al-edit-1');
    await page.fill('[role="dialog"] textarea', 'lần thử thứ hai từ cùng địa chỉ');
    await page.click('[role="dialog"] button[type="submit"]');
    await page.waitForSelector('[data-testid="evidence"] q');
    expect(await page.textContent('[data-testid="evidence"] q')).toBe('lần thử thứ hai từ cùng địa chỉ');
    const detail = await pipeline.api<{ evidence: Array<{ kind: string; ref_id: string; actor: string }> }>(
      'GET',
      `/api/v1/incidents/${big}`,
    );
    expect(detail.body.evidence).toEqual([
      expect.objectContaining({ kind: 'alert', ref_id: 'al-edit-1', actor: 'phan.tich' }),
    ]);
    await axe(page);
    await page.locator('[data-testid="evidence"] li button.link').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="evidence"] q'));
    const audit = await pipeline.api<{ items: Array<{ action: string }> }>(
      'GET',
      `/api/v1/console/incidents/${big}/audit`,
    );
    expect(audit.body.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['POST IncidentEditsController.pin', 'DELETE IncidentEditsController.unpin']),
    );
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('splits a selected alert into a new incident, then merges it back (keys b and m)', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/incidents/${big}`);
    await page.waitForSelector('section[aria-labelledby="h-alerts"] input[type="checkbox"]');
    await page.locator('section[aria-labelledby="h-alerts"] input[type="checkbox"]').nth(2).check();
    await page.keyboard.press('b');
    await page.waitForSelector('[role="dialog"] textarea');
    await page.keyboard.type('máy khác phía sau NAT');
    await page.click('[role="dialog"] button[type="submit"]');
    await page.waitForFunction(
      (from) => location.pathname.startsWith('/incidents/') && !location.pathname.endsWith(from),
      big,
    );
    const created = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.waitForSelector(`a[href="/incidents/${big}"]`);
    const c = await pipeline.api<{ alert_count: number; split_from: string; status: string }>(
      'GET',
      `/api/v1/incidents/${created}`,
    );
    expect(c.body).toMatchObject({ alert_count: 1, split_from: big, status: 'new' });
    await axe(page);

    // Merge the split-off incident and the .8 one back into the big one.
    await page.goto(`${pipeline.apiUrl}/incidents/${big}`);
    await page.waitForSelector('[data-testid="evidence"]');
    await page.keyboard.press('m');
    await page.waitForSelector('[role="dialog"] input');
    await page.keyboard.type(`${created}, ${small}`);
    await page.fill('[role="dialog"] textarea', 'cùng một chiến dịch dò mật khẩu');
    await page.click('[role="dialog"] button[type="submit"]');
    await page.waitForFunction(
      () =>
        document.querySelector('section[aria-labelledby="h-alerts"] h2')?.textContent?.includes('4') ?? false,
    );
    for (const id of [created, small]) {
      const m = await pipeline.api<{ status: string; duplicate_of: string }>(
        'GET',
        `/api/v1/incidents/${id}`,
      );
      expect(m.body).toMatchObject({ status: 'duplicate', duplicate_of: big });
    }
    await page.goto(`${pipeline.apiUrl}/incidents/${small}`);
    await page.waitForSelector(`a[href="/incidents/${big}"]`);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('ATT&CK grid shows technique names and a drill-validated layer', async () => {
    const nc = await connect({ servers: process.env.CITYSOC_NATS_URL ?? '127.0.0.1:4222' });
    try {
      const kv = await nc
        .jetstream()
        .views.kv(busNames(pipeline.prefix).durable(DRILL_RUNS_BUCKET), { history: 1 });
      const at = new Date().toISOString();
      const run: DrillRunRecord = {
        runId: 'run-e2e',
        scenario: 'ssh-brute',
        scenarioSha256: 'a'.repeat(64),
        syslog: [],
        exporters: [],
        window: { start: at, end: at },
        status: 'finished',
        registeredAt: at,
        registeredBy: 'lead',
        seed: 1,
        speed: 1,
        updatedAt: at,
        techniques: { 'T1110.001': 'pass' },
      };
      await kv.put('run-e2e', Buffer.from(JSON.stringify(run)));
    } finally {
      await nc.close();
    }
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/attack`);
    const grid = page.locator('[data-testid="technique-grid"]');
    const cell = grid.locator('.tcell:has(a[href="/rules?technique=T1110.001"])').first();
    await cell.waitFor();
    // Names come from the data file (English, as ATT&CK publishes them).
    expect(await cell.locator('.tname').textContent()).toBe('Password Guessing');
    await page.locator('input[name="layer"][value="validated"]').check();
    await page.waitForSelector('[data-testid="validated-note"]');
    expect(await cell.getAttribute('data-validated')).toBe('yes');
    expect(await cell.getAttribute('class')).toContain('shade-4');
    const other = grid.locator('.tcell:has(a[href="/rules?technique=T1686.002"])').first();
    expect(await other.getAttribute('class')).toContain('shade-0');
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('Rules page shows the cost the detectors reported beside hits and false-positive rate', async () => {
    const rule = '5d0c9a7e-3b21-4c6f-9e48-a1f2b3c4d5e6'; // rules/linux/sshd_bruteforce.yml, first rule
    const nc = await connect({ servers: process.env.CITYSOC_NATS_URL ?? '127.0.0.1:4222' });
    try {
      const kv = await nc
        .jetstream()
        .views.kv(busNames(pipeline.prefix).durable(RULE_STATS_BUCKET), { history: 1 });
      const snap: RuleStatsSnapshot = {
        instance: 'detector-e2e',
        since: new Date(Date.now() - 3600_000).toISOString(),
        at: new Date().toISOString(),
        interval_ms: 60_000,
        events: 5000,
        rules: [{ id: rule, evaluations: 1234, matches: 7, seconds: 0.5 }],
      };
      await kv.put('detector-e2e', Buffer.from(JSON.stringify(snap)));
    } finally {
      await nc.close();
    }
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/rules`);
    const row = page.locator(`[data-testid="rules"] tbody tr:has(code:text-is("${rule}"))`);
    await row.waitFor();
    // Columns: rule (th), level, status, engine, ATT&CK, alerts, incidents, FP rate, evaluations, matches, time.
    expect(await row.locator('td:nth-child(9)').textContent()).toBe('1.234');
    expect(await row.locator('td:nth-child(10)').textContent()).toBe('7');
    expect(await row.locator('td:nth-child(11)').textContent()).toMatch(/^500 ms \(405,2 µs\)$/);
    expect(await page.textContent('[data-testid="cost-window"]')).toMatch(/1/);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('closes an incident as a duplicate of another from the close dialog (key e)', async () => {
    const list = await pipeline.api<{ items: Array<{ id: string }> }>(
      'GET',
      `/api/v1/incidents?entity=${encodeURIComponent('source.ip:198.51.100.10')}`,
    );
    const id = list.body.items[0]!.id;
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/incidents/${id}`);
    await page.waitForSelector('[data-testid="status"]');
    await page.keyboard.press('e');
    await page.waitForSelector('[role="dialog"] select');
    await page.selectOption('[role="dialog"] select', 'duplicate');
    await page.fill('[role="dialog"] input', big);
    await page.fill('[role="dialog"] textarea', 'cùng cuộc tấn công');
    await axe(page);
    await page.click('[role="dialog"] button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"] .status-duplicate'));
    const r = await pipeline.api<{ status: string; duplicate_of: string }>('GET', `/api/v1/incidents/${id}`);
    expect(r.body).toMatchObject({ status: 'duplicate', duplicate_of: big });
    await page.context().close();
  }, 60_000);
});
