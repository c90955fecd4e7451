/// <reference lib="dom" />
import { type Browser, type Page } from 'playwright-core';
import { openControlStore, SqliteIncidentStore } from '@citysoc/store';
import { Pipeline } from '@citysoc/testing';
import { alert as alertFixture, event as eventFixture } from '../../libs/stix/src/testing/fixtures';
import { axe, describeWithChromium, focusedOn, launchChromium, login, moveCursor, PASSWORD } from './browser';
import { seed, ward } from './seed';

const d = describeWithChromium('console e2e');

d.each(['vi', 'en'] as const)('analyst console (%s)', (lang) => {
  // Each test logs in afresh from 127.0.0.1: more than the default 10 logins a minute per address.
  const pipeline = new Pipeline({ apps: ['api'], env: { CITYSOC_LOGIN_RATE_PER_MINUTE: '100' } });
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
        role: 'responder',
        ...(unit ? { unit } : {}),
      });
      expect(r.status).toBe(201);
    }
    browser = await launchChromium();
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
    await page.waitForSelector('table[role="grid"] tbody tr');
    expect(await page.getAttribute('html', 'lang')).toBe(lang);
    // Browser in UTC, console in Asia/Ho_Chi_Minh: every time carries +07 and UTC on hover.
    const time = page.locator('table[role="grid"] time').first();
    expect(await time.textContent()).toMatch(/\+07$/);
    expect(await time.getAttribute('title')).toMatch(/UTC$/);
    await moveCursor(page, 'j', 1);
    const id = await moveCursor(page, 'k', 0);
    expect(id).toBeTruthy();
    await page.keyboard.press('Enter');
    await page.waitForFunction((i) => location.pathname === `/incidents/${i}`, id);
    await page.waitForSelector('[data-testid="status"]');
    await page.keyboard.press('c');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"] .status-acknowledged'));
    // acknowledged → in_progress (s, default choice), then close (e).
    await page.keyboard.press('s');
    await page.waitForSelector('[role="dialog"] select');
    await focusedOn(page, 'SELECT');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"] .status-in_progress'));
    await page.keyboard.press('e');
    await page.waitForSelector('[role="dialog"] textarea');
    // Focus starts on the disposition (resolved); Tab to the mandatory reason.
    await focusedOn(page, 'SELECT');
    await page.keyboard.press('Tab');
    await focusedOn(page, 'TEXTAREA');
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
    await page.waitForSelector('table[role="grid"] tbody tr');
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
    await page.waitForSelector('table[role="grid"] tbody tr');
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
    await page.waitForSelector('table[role="grid"] tbody tr');
    page.on('console', (m) => console.log('browser:', m.text()));
    page.on('pageerror', (e) => console.log('pageerror:', e.message));
    await page.locator('table[role="grid"] tbody tr a').first().click();
    await page.waitForSelector('#h-alerts');
    await page.locator('section[aria-labelledby="h-alerts"] button.link').first().click();
    await page.waitForSelector('[role="dialog"] mark');
    // Flow pivots: the alert's source address as either end of a flow record, ±5 min.
    const flowLinks = await page
      .locator('[role="dialog"] a[href*="field=event.dataset%3Aflow"]')
      .evaluateAll((as) =>
        as.map((a) => new URL((a as HTMLAnchorElement).href).searchParams.getAll('field')),
      );
    expect(flowLinks).toContainEqual([
      'event.dataset:flow',
      expect.stringMatching(/^source\.ip:198\.51\.100\./),
    ]);
    expect(flowLinks).toContainEqual([
      'event.dataset:flow',
      expect.stringMatching(/^destination\.ip:198\.51\.100\./),
    ]);
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
    await page.waitForSelector('table[role="grid"] tbody tr');
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
  it('entity page lists the incidents and events of an address', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/entities/ip/198.51.100.11`);
    await page.waitForSelector('[data-testid="events"] tbody tr');
    expect(await page.locator('h1').textContent()).toContain('198.51.100.11');
    expect(await page.locator('section li a[href^="/incidents/"]').count()).toBe(1);
    expect(await page.locator('[data-testid="events"] tbody tr').count()).toBe(1);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('hunt: histogram and top values narrow the search; a saved view is shared and reopens it', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/hunt`);
    await page.waitForSelector('[data-testid="histogram"] svg rect');
    expect(await page.locator('[data-testid="histogram"] svg rect').count()).toBe(6);
    const ips = page.locator('[data-testid="top-values"] section').nth(1).locator('li button');
    expect(await ips.count()).toBe(6);
    await page.getByRole('button', { name: '198.51.100.12', exact: true }).click();
    await page.waitForURL(/field=source\.ip%3A198\.51\.100\.12/);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="events"] tbody tr').length === 1,
    );
    await page.locator('.saved-views input[name="name"]').fill('IP .12');
    await page.locator('.saved-views input[name="shared"]').check();
    await page.locator('.saved-views button[type="submit"]').click();
    await page.waitForSelector('.saved-views [role="status"]:not(:empty)');
    await axe(page);
    // A colleague in another ward sees the shared view and opens it (their scope still applies).
    const other = await newPage();
    await login(other, pipeline.apiUrl, 'hang.bac', lang);
    await other.goto(`${pipeline.apiUrl}/hunt`);
    await other.waitForSelector('.saved-views option:nth-child(2)', { state: 'attached' });
    const value = await other.locator('.saved-views option:nth-child(2)').getAttribute('value');
    await other.locator('.saved-views select').selectOption(value);
    await other.waitForURL(/field=source\.ip%3A198\.51\.100\.12/);
    await other.waitForFunction(
      () => document.querySelectorAll('[data-testid="events"] tbody tr').length === 1,
    );
    await other.waitForSelector('[data-testid="histogram"] svg rect');
    await axe(other);
    await other.context().close();
    await page.context().close();
  }, 60_000);

  it('units drill down city → district → ward with subtree totals', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/units`);
    const rows = page.locator('[data-testid="units"] tbody tr');
    await page.waitForSelector('[data-testid="units"] tbody tr th a');
    expect(await rows.locator('td:nth-child(2)').allTextContents()).toEqual(['hanoi']);
    expect(await rows.locator('td:nth-child(4)').allTextContents()).toEqual(['6']);
    await axe(page);
    await rows.locator('th a').click();
    await page.waitForURL(/at=hanoi$/);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="units"] tbody tr').length === 2,
    );
    expect((await rows.locator('td:nth-child(2)').allTextContents()).sort()).toEqual([
      'hanoi/ba-dinh',
      'hanoi/hoan-kiem',
    ]);
    await page.locator('[data-testid="units"] a[href="/units?at=hanoi%2Fhoan-kiem"]').click();
    await page.waitForSelector('[data-testid="units"] tbody tr td:has-text("hanoi/hoan-kiem/hang-bac")');
    expect(await rows.locator('th').allTextContents()).toEqual(['Phường Hàng Bạc']);
    expect(await page.locator('.crumbs li').count()).toBe(3);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('ATT&CK: a tactic cell opens the queue filtered by it; unknown tactics are listed', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/attack`);
    await page.waitForSelector('.matrix li.seen');
    expect(await page.locator('.matrix li.seen').count()).toBe(1);
    expect(await page.locator('a[href="/queue?view=all&tactic=defense-impairment"]').count()).toBe(1);
    // Technique grid: the rules on disk tag T1110.001 (coverage layer); the seeded incidents carry it and a
    // renumbered id under a tactic the data file does not know, which is kept, not dropped.
    const grid = page.locator('[data-testid="technique-grid"]');
    await grid.locator('a[href="/rules?technique=T1110.001"]').first().waitFor();
    // At 1366 px every tactic column fits the page: none hides past the right edge behind a scrollbar that
    // sits below the fold, and no technique name spills out of its cell.
    const fit = await grid.evaluate((g) => {
      const page = document.documentElement.clientWidth;
      return {
        gridScrolls: g.scrollWidth > g.clientWidth,
        pageScrolls: document.documentElement.scrollWidth > page,
        past: Array.from(g.querySelectorAll('section, .tcell')).filter(
          (el) => el.getBoundingClientRect().right > page,
        ).length,
        spilled: Array.from(g.querySelectorAll('.tcell')).filter((el) => el.scrollWidth > el.clientWidth)
          .length,
      };
    });
    expect(fit).toEqual({ gridScrolls: false, pageScrolls: false, past: 0, spilled: 0 });
    expect(
      await grid.locator('section[aria-labelledby="tac-defense-impairment"] .tid').allTextContents(),
    ).toEqual(['T1686.002']);
    expect(
      await grid.locator('.tcell:not(.shade-0) a[href="/rules?technique=T1110.001"]').count(),
    ).toBeGreaterThan(0);
    await axe(page);
    await page.locator('input[name="layer"][value="incidents"]').check();
    expect(
      await grid.locator('section[aria-labelledby="tac-defense-impairment"] .tcell.shade-0').count(),
    ).toBe(0);
    await axe(page);
    await grid.locator('a[href="/rules?technique=T1110.001"]').first().click();
    await page.waitForSelector('[data-testid="rules"] tbody tr');
    const ruleAttack = await page.locator('[data-testid="rules"] tbody tr td:nth-child(5)').allTextContents();
    expect(ruleAttack.length).toBeGreaterThan(0);
    for (const a of ruleAttack) expect(a).toContain('T1110.001');
    await axe(page);
    await page.goto(`${pipeline.apiUrl}/attack`);
    await page.waitForSelector('.matrix li.seen');
    await page.locator('.matrix li.seen a').click();
    await page.waitForURL(/tactic=credential-access/);
    await page.waitForSelector('table[role="grid"] tbody tr');
    const entities = await page.locator('table[role="grid"] tbody tr td:nth-child(6)').allTextContents();
    expect(entities.sort()).toEqual([
      'source.ip:198.51.100.11',
      'source.ip:198.51.100.13',
      'source.ip:198.51.100.15',
    ]);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('live inserts are announced without moving the cursor', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.waitForSelector('table[role="grid"] tbody tr');
    // Moving the cursor must not refetch the page: a refetch would pull live inserts in under the cursor.
    const queueRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/console/queue')) queueRequests.push(r.url());
    });
    await moveCursor(page, 'j', 1);
    const before = await moveCursor(page, 'j', 2);
    expect(queueRequests).toEqual([]);
    const rowsBefore = await page.locator('table[role="grid"] tbody tr').allTextContents();
    // A critical incident arrives while the analyst works (written by another process, as the responder does).
    const control = openControlStore(pipeline.dataDir);
    const incidents = new SqliteIncidentStore(control.db);
    try {
      const ev = eventFixture({
        '@timestamp': new Date().toISOString(),
        citysoc: ward(['hanoi', 'hoan-kiem', 'hang-bac'], 'Phường Hàng Bạc'),
      });
      ev.event = { ...ev.event, id: 'ev-console-live' };
      const a = alertFixture(ev, 99);
      a.id = `al-console-live-${lang}`;
      a.entity = `source.ip:192.0.2.${lang === 'vi' ? 1 : 2}`;
      a.rule = { ...a.rule, level: 'critical' };
      await incidents.recordAlert(a, 30 * 60_000);
    } finally {
      control.close();
    }
    await page.waitForFunction(() =>
      /\d/.test(document.querySelector('[data-testid="live"]')?.textContent ?? ''),
    );
    expect(await page.locator('tr.cursor').getAttribute('data-id')).toBe(before);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-id'))).toBe(before);
    expect(await page.locator('table[role="grid"] tbody tr').allTextContents()).toEqual(rowsBefore);
    await axe(page);
    await page.context().close();
  }, 60_000);
});
