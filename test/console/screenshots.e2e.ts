/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { Pipeline, repoRoot } from '@citysoc/testing';
import { axe, describeWithChromium, launchChromium, login, PASSWORD } from './browser';
import { seed } from './seed';

/**
 * Screenshots of the main pages for the README (docs/screenshots), at 1366×768 and 1920×1080, in Vietnamese.
 * Runs with CITYSOC_SCREENSHOTS=1 (npm run screenshots:console); otherwise skipped so CI does not rewrite
 * the committed images.
 */
const OUT = path.join(repoRoot(), 'docs', 'screenshots');
const enabled = process.env.CITYSOC_SCREENSHOTS === '1';
if (!enabled)
  console.warn('console screenshots skipped: set CITYSOC_SCREENSHOTS=1 (npm run screenshots:console)');
const d = enabled ? describeWithChromium('console screenshots') : describe.skip;

const PAGES: Array<[string, string, string]> = [
  ['queue', '/queue?view=open', 'table[role="grid"] tbody tr'],
  ['queue-grouped', '/queue?view=all&group=unit', 'table.groups tbody tr'],
  ['hunt', '/hunt', '[data-testid="events"]'],
  ['dashboards', '/dash', 'canvas'],
  ['units', '/units', 'table tbody tr'],
  ['attack', '/attack', '.matrix li'],
  ['rules', '/rules', 'table tbody tr'],
];

d('console screenshots', () => {
  const pipeline = new Pipeline({ apps: ['api'] });
  let browser: Browser;
  let evidenceOn = '';
  beforeAll(async () => {
    await seed(pipeline.dataDir, Date.now());
    await pipeline.start();
    await pipeline.api('POST', '/api/v1/users', {
      username: 'phan.tich',
      password: PASSWORD,
      role: 'analyst',
    });
    // The incident shown carries pinned evidence: its alert and an event from another ward's incident.
    const list = await pipeline.api<{ items: Array<{ id: string }> }>(
      'GET',
      `/api/v1/incidents?entity=${encodeURIComponent('source.ip:198.51.100.11')}`,
    );
    evidenceOn = list.body.items[0]!.id;
    for (const [kind, ref, note] of [
      ['alert', 'al-console-1', 'Nhiều lần đăng nhập SSH thất bại từ cùng một địa chỉ'],
      ['event', 'ev-console-3', 'Cùng máy quét, ghi nhận ở phường khác'],
    ] as const) {
      const r = await pipeline.api('POST', `/api/v1/incidents/${evidenceOn}/evidence`, { kind, ref, note });
      expect(r.status).toBe(200);
    }
    browser = await launchChromium();
    mkdirSync(OUT, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await pipeline.stop();
  });

  it.each([
    [1366, 768],
    [1920, 1080],
  ])(
    'main pages at %i×%i',
    async (w, h) => {
      const ctx = await browser.newContext({ viewport: { width: w, height: h } });
      const page = await ctx.newPage();
      await login(page, pipeline.apiUrl, 'phan.tich', 'vi');
      for (const [name, route, ready] of PAGES) {
        await page.goto(`${pipeline.apiUrl}${route}`);
        await page.waitForSelector(ready);
        await page.screenshot({ path: path.join(OUT, `${name}-${w}x${h}.png`) });
      }
      // The technique grid (names from the data file) sits below the tactic matrix.
      const grid = page.locator('[data-testid="technique-grid"]');
      await page.goto(`${pipeline.apiUrl}/attack`);
      await grid.locator('.tname').first().waitFor();
      // At 1920×1080 the first screen of each page already shows the technique grid and the Evidence section.
      const belowFold = h < 1080;
      if (belowFold) {
        await grid.scrollIntoViewIfNeeded();
        await page.screenshot({ path: path.join(OUT, `attack-techniques-${w}x${h}.png`) });
      }
      await page.goto(`${pipeline.apiUrl}/incidents/${evidenceOn}`);
      await page.waitForSelector('[data-testid="evidence"] q');
      await page.screenshot({ path: path.join(OUT, `incident-${w}x${h}.png`), fullPage: false });
      if (belowFold) {
        await page.locator('[data-testid="evidence"]').scrollIntoViewIfNeeded();
        await page.screenshot({ path: path.join(OUT, `incident-evidence-${w}x${h}.png`) });
      }
      await page.locator('section[aria-labelledby="h-alerts"] button.link').first().click();
      await page.waitForSelector('[role="dialog"] mark');
      await page.screenshot({ path: path.join(OUT, `alert-drawer-${w}x${h}.png`) });
      await axe(page);
      await ctx.close();
    },
    120_000,
  );
});
