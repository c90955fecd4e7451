/// <reference lib="dom" />
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { openControlStore, openEventStore } from '@citysoc/store';
import { Pipeline, repoRoot } from '@citysoc/testing';
import { alert as alertFixture, event as eventFixture } from '../../libs/stix/src/testing/fixtures';

const CHROMIUM = process.env.CITYSOC_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`console e2e skipped: no chromium at ${CHROMIUM} (set CITYSOC_CHROMIUM)`);
const d = haveChromium ? describe : describe.skip;
const PASSWORD = 'correct horse battery staple';
const AXE = readFileSync(path.join(repoRoot(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const SHOTS = process.env.CITYSOC_SCREENSHOTS ? path.join(repoRoot(), 'docs', 'screenshots') : '';

function ward(path: string[], name: string): NonNullable<EcsEvent['citysoc']> {
  return { unit: { id: path.join('-'), name, path, criticality: 'medium' } };
}

/** Incidents in two wards, seeded through the real stores before the API starts. */
async function seed(dataDir: string, now: number): Promise<void> {
  const control = openControlStore(dataDir);
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
    ev.event = { ...ev.event, id: `ev-console-${i}` };
    ev.source = { ip: `198.51.100.${10 + i}`, port: 40000 + i };
    const a = alertFixture(ev, i);
    a.id = `al-console-${i}`;
    a.entity = `source.ip:198.51.100.${10 + i}`;
    a.matched_fields = { 'event.action': 'ssh_login', 'source.ip': ev.source.ip };
    list.push(a);
  }
  await events.insertEvents(list.map((a) => a.event));
  await events.insertAlerts(list);
  for (const a of list) control.incidents.recordAlert(a, 30 * 60_000);
  await events.close();
  control.close();
}

async function axe(page: Page): Promise<void> {
  // Through DevTools, not a <script>: the console's CSP (rightly) refuses inline scripts.
  await page.evaluate(AXE);
  const r = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: {
        run: (o: unknown) => Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }>;
      };
    };
    return w.axe.run({ resultTypes: ['violations'] });
  });
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`)).toEqual([]);
}

async function login(page: Page, base: string, user: string, lang: 'vi' | 'en'): Promise<void> {
  await page.goto(`${base}/queue`);
  await page.waitForSelector('form input[autocomplete="username"]');
  await page.selectOption('select', lang);
  await page.fill('input[autocomplete="username"]', user);
  await page.fill('input[autocomplete="current-password"]', PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('table[role="grid"] tbody tr');
}

d.each(['vi', 'en'] as const)('analyst console (%s)', (lang) => {
  const pipeline = new Pipeline({ apps: ['api'] });
  let browser: Browser;

  beforeAll(async () => {
    await seed(pipeline.dataDir, Date.now());
    await pipeline.start();
    for (const [username, unit] of [
      ['phan.tich', undefined],
      ['hang.bac', 'hanoi/hoan-kiem/hang-bac'],
    ] as const) {
      const r = await pipeline.api('POST', '/api/v1/users', {
        username,
        password: PASSWORD,
        role: 'analyst',
        ...(unit ? { unit } : {}),
      });
      expect(r.status).toBe(201);
    }
    // playwright gives launch() a fresh temporary profile of its own (it refuses --user-data-dir here).
    browser = await chromium.launch({
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
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await pipeline.stop();
  });

  async function newPage(w = 1366, h = 768): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: w, height: h }, timezoneId: 'UTC' });
    return ctx.newPage();
  }

  it('keyboard-only triage: queue → claim → close with reason; times shown +07', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    expect(await page.getAttribute('html', 'lang')).toBe(lang);
    // Browser in UTC, console in Asia/Ho_Chi_Minh: every time carries +07 and UTC on hover.
    const time = page.locator('table[role="grid"] time').first();
    expect(await time.textContent()).toMatch(/\+07$/);
    expect(await time.getAttribute('title')).toMatch(/UTC$/);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `queue-${lang}-1366x768.png`) });
    }
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    const id = await page.locator('tr.cursor').getAttribute('data-id');
    expect(id).toBeTruthy();
    await page.keyboard.press('Enter');
    await page.waitForFunction((i) => location.pathname === `/incidents/${i}`, id);
    await page.waitForSelector('[data-testid="status"]');
    await page.keyboard.press('c');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"] .status-acknowledged'));
    // acknowledged → in_progress (s, default choice), then close (e).
    await page.keyboard.press('s');
    await page.waitForSelector('[role="dialog"] select');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"] .status-in_progress'));
    await page.keyboard.press('e');
    await page.waitForSelector('[role="dialog"] textarea');
    // Focus starts on the disposition (resolved); Tab to the mandatory reason.
    await page.keyboard.press('Tab');
    await page.keyboard.type('Quét cổng từ máy quét nội bộ đã biết');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"] .status-resolved'));
    const r = await pipeline.api<{ status: string; reason: string }>('GET', `/api/v1/incidents/${id}`);
    expect(r.body).toMatchObject({ status: 'resolved', reason: 'Quét cổng từ máy quét nội bộ đã biết' });
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('filters survive refresh and Back; diacritics-insensitive search', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.fill('form[role="search"] input[name="q"]', 'phuong hang bac');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=phuong/);
    await page.waitForFunction(
      () =>
        document.querySelectorAll('table[role="grid"] tbody tr').length === 3 ||
        document.querySelectorAll('table[role="grid"] tbody tr').length === 2,
    );
    const rows = await page.locator('table[role="grid"] tbody tr').count();
    const units = await page.locator('table[role="grid"] tbody tr td:nth-child(5)').allTextContents();
    expect(units.every((u) => u === 'Phường Hàng Bạc')).toBe(true);
    await page.reload();
    await page.waitForSelector('table[role="grid"] tbody tr');
    expect(await page.inputValue('form[role="search"] input[name="q"]')).toBe('phuong hang bac');
    expect(await page.locator('table[role="grid"] tbody tr').count()).toBe(rows);
    await page.locator('[role="tab"]').nth(5).click();
    await page.waitForURL(/view=all/);
    await page.goBack();
    await page.waitForFunction(() => !location.search.includes('view=all'));
    expect(page.url()).toContain('q=phuong');
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('a user scoped to one ward never sees another ward', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'hang.bac', lang);
    await page.locator('[role="tab"]').nth(5).click();
    await page.waitForURL(/view=all/);
    await page.waitForSelector('table[role="grid"] tbody tr');
    const units = await page.locator('table[role="grid"] tbody tr td:nth-child(5)').allTextContents();
    expect(units.length).toBeGreaterThan(0);
    expect(units.every((u) => u === 'Phường Hàng Bạc')).toBe(true);
    const other = (
      await pipeline.api<{ items: Array<{ id: string; unit: { path: string } }> }>(
        'GET',
        '/api/v1/incidents?limit=100',
      )
    ).body.items.find((i) => i.unit.path.includes('kim-ma'));
    await page.goto(`${pipeline.apiUrl}/incidents/${other!.id}`);
    await page.waitForSelector('[role="alert"]');
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('alert drawer shows matched fields and pivots to events ±5 min', async () => {
    const page = await newPage(1920, 1080);
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    page.on('console', (m) => console.log('browser:', m.text()));
    page.on('pageerror', (e) => console.log('pageerror:', e.message));
    await page.locator('table[role="grid"] tbody tr a').first().click();
    await page.waitForSelector('#h-alerts');
    await page.locator('section[aria-labelledby="h-alerts"] button.link').first().click();
    await page.waitForSelector('[role="dialog"] mark');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `alert-${lang}-1920x1080.png`) });
    await axe(page);
    await page.locator('[role="dialog"] a').first().click();
    await page.waitForURL(/\/hunt\?/);
    await page.waitForSelector('[data-testid="events"] tbody tr');
    const url = new URL(page.url());
    expect(Date.parse(url.searchParams.get('to')!) - Date.parse(url.searchParams.get('from')!)).toBe(
      10 * 60_000,
    );
    expect(await page.locator('[data-testid="events"] tbody tr').count()).toBe(1);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('bulk close by query repeats the time range and count, and only closes inside it', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    const now = Date.now();
    // A range covering only the two most recent incidents (1 h and 2 h old).
    const from = new Date(now - 2.5 * 3600_000).toISOString();
    const to = new Date(now).toISOString();
    await page.goto(
      `${pipeline.apiUrl}/queue?view=open&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    );
    await page.waitForSelector('table[role="grid"] tbody tr');
    const shown = await page.locator('table[role="grid"] tbody tr').count();
    await page.click('[data-bulk="query"]');
    await page.waitForFunction(() =>
      /\d/.test(document.querySelector('[data-testid="bulk-confirm"]')?.textContent ?? ''),
    );
    expect(await page.textContent('[data-testid="bulk-confirm"]')).toContain(String(shown));
    await page.fill('[role="dialog"] textarea', 'máy quét được phép');
    await page.click('[role="dialog"] button[type="submit"]');
    await page.waitForSelector('[data-testid="bulk-result"]');
    expect(await page.textContent('[data-testid="bulk-result"]')).toMatch(
      new RegExp(`${shown}.*${shown}.*0`),
    );
    await axe(page);
    const all = await pipeline.api<{ items: Array<{ status: string; last_seen: string }> }>(
      'GET',
      '/api/v1/incidents?limit=100',
    );
    for (const i of all.body.items)
      if (Date.parse(i.last_seen) < Date.parse(from)) expect(i.status).not.toBe('false_positive');
    await page.context().close();
  }, 60_000);
});
