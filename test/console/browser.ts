/// <reference lib="dom" />
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { repoRoot } from '@citysoc/testing';

/** Debian's chromium (installed by .ci/run / ensure-peers); `npx playwright install` cannot work here. */
export const CHROMIUM = process.env.CITYSOC_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
export const PASSWORD = 'correct horse battery staple';
const AXE = readFileSync(path.join(repoRoot(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** describe, or describe.skip with a clear message when chromium is absent. */
export function describeWithChromium(what: string): jest.Describe {
  if (haveChromium) return describe;
  console.warn(`${what} skipped: no chromium at ${CHROMIUM} (install it or set CITYSOC_CHROMIUM)`);
  return describe.skip;
}

export function launchChromium(): Promise<Browser> {
  // playwright gives launch() a fresh temporary profile of its own (it refuses --user-data-dir here).
  return chromium.launch({
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
}

/** axe-core in the page; fails on any serious or critical violation. */
export async function axe(page: Page): Promise<void> {
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

/** Logs in through the login page in the given language and waits for the queue grid. */
export async function login(page: Page, base: string, user: string, lang: 'vi' | 'en'): Promise<void> {
  await page.goto(`${base}/queue`);
  await page.waitForSelector('form input[autocomplete="username"]');
  await page.selectOption('select', lang);
  await page.fill('input[autocomplete="username"]', user);
  await page.fill('input[autocomplete="current-password"]', PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('table[role="grid"]');
}

/** Presses a cursor key in the queue and waits until the grid's cursor row is `index` and in the URL. */
export async function moveCursor(page: Page, key: 'j' | 'k', index: number): Promise<string> {
  await page.keyboard.press(key);
  await page.waitForFunction((want) => {
    const rows = Array.from(document.querySelectorAll('table[role="grid"] tbody tr'));
    const cur = document.querySelector('tr.cursor');
    return (
      cur !== null &&
      rows.indexOf(cur) === want &&
      cur.getAttribute('data-id') === new URLSearchParams(location.search).get('sel') &&
      document.activeElement === cur
    );
  }, index);
  return (await page.locator('tr.cursor').getAttribute('data-id')) ?? '';
}

/** Waits until the focused element is a `tag` (dialogs focus their first field once mounted). */
export async function focusedOn(page: Page, tag: 'SELECT' | 'TEXTAREA' | 'INPUT'): Promise<void> {
  await page.waitForFunction((t) => document.activeElement?.tagName === t, tag);
}
