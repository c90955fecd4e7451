/// <reference lib="dom" />
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { repoRoot } from '@citysoc/testing';
import { axe, describeWithChromium, focusedOn, launchChromium } from './browser';

const d = describeWithChromium('console FormDialog');

/** What apps/console/src/ui.test.tsx puts on the page's window. */
declare global {
  interface Window {
    formDialogHarness: {
      log: string[];
      settle: (failure?: string) => void;
      failLoad: (message: string) => void;
      setLanguage: (lang: 'vi' | 'en') => void;
    };
  }
}
const ORIGIN = 'http://form-dialog.test';

/**
 * Bundles apps/console/src/ui.test.tsx (one FormDialog on a page) with the console's Vite, in a child process:
 * Vite is ESM-only and jest's module loader is not.
 */
function bundleHarness(outDir: string): string {
  const script = `
    import { build } from 'vite';
    await build({
      configFile: false,
      root: process.env.ROOT,
      logLevel: 'warn',
      mode: 'production',
      define: { 'process.env.NODE_ENV': '"production"' },
      oxc: { jsx: { runtime: 'automatic' } },
      build: {
        outDir: process.env.OUT,
        emptyOutDir: true,
        minify: false,
        lib: { entry: process.env.ENTRY, formats: ['iife'], name: 'harness', fileName: () => 'harness.js' },
      },
    });`;
  const root = repoRoot();
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    // NODE_ENV as jest sets it (test) would make the JSX transform emit the dev runtime's calls.
    env: {
      ...process.env,
      NODE_ENV: 'production',
      ROOT: root,
      OUT: outDir,
      ENTRY: path.join(root, 'apps/console/src/ui.test.tsx'),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return readFileSync(path.join(outDir, 'harness.js'), 'utf8');
}

d('FormDialog', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'citysoc-form-dialog-'));
  let browser: Browser;
  let js = '';

  beforeAll(async () => {
    js = bundleHarness(out);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(out, { recursive: true, force: true });
  });

  /** The harness page on a real origin (i18n keeps the language in localStorage), dialog opened. */
  async function open(lang: 'vi' | 'en'): Promise<Page> {
    const page = await browser.newPage();
    await page.route(`${ORIGIN}/**`, (route) =>
      route.fulfill(
        new URL(route.request().url()).pathname === '/harness.js'
          ? { contentType: 'text/javascript; charset=utf-8', body: js }
          : {
              contentType: 'text/html; charset=utf-8',
              body: `<!doctype html><html lang="${lang}"><head><title>FormDialog</title></head><body><div id="root"></div><script src="/harness.js"></script></body></html>`,
            },
      ),
    );
    await page.goto(`${ORIGIN}/`);
    await page.waitForSelector('#opener');
    await page.evaluate((l) => window.formDialogHarness.setLanguage(l), lang);
    await page.focus('#opener');
    await page.keyboard.press('Enter');
    await focusedOn(page, 'INPUT');
    return page;
  }

  const log = (page: Page) => page.evaluate(() => [...window.formDialogHarness.log]);
  const submitButton = '[role="dialog"] button[type="submit"]';

  it.each([
    ['vi', 'Hủy'],
    ['en', 'Cancel'],
  ] as const)(
    'is a labelled modal dialog with the fields, then submit and a translated cancel (%s)',
    async (lang, cancel) => {
      const page = await open(lang);
      const dialog = page.locator('[role="dialog"]');
      expect(await dialog.getAttribute('aria-modal')).toBe('true');
      const labelledBy = await dialog.getAttribute('aria-labelledby');
      expect(await page.textContent(`#${labelledBy}`)).toBe('Rename the thing');
      expect(await dialog.locator('#intro').count()).toBe(1);
      expect(await dialog.locator('form #intro').count()).toBe(0);
      expect(await dialog.locator('.buttons button').allTextContents()).toEqual(['Rename', cancel]);
      // Nothing to submit yet: canSubmit is false until a name is typed.
      expect(await page.isDisabled(submitButton)).toBe(true);
      await page.keyboard.type('x');
      expect(await page.isEnabled(submitButton)).toBe(true);
      await axe(page);
      await page.close();
    },
    60_000,
  );

  it('keeps Tab and Shift+Tab inside the dialog', async () => {
    const page = await open('en');
    await page.keyboard.type('x');
    const active = () => page.evaluate(() => document.activeElement?.textContent ?? '');
    await page.keyboard.press('Tab'); // textarea
    await page.keyboard.press('Tab'); // submit
    await page.keyboard.press('Tab'); // cancel
    expect(await active()).toBe('Cancel');
    await page.keyboard.press('Tab');
    await focusedOn(page, 'INPUT');
    await page.keyboard.press('Shift+Tab');
    expect(await active()).toBe('Cancel');
    await page.close();
  }, 60_000);

  it('closes on Escape and on Cancel, returning focus to what opened it', async () => {
    const page = await open('en');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[role="dialog"]', { state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('opener');
    await page.keyboard.press('Enter');
    await focusedOn(page, 'INPUT');
    await page.click('text=Cancel');
    await page.waitForSelector('[role="dialog"]', { state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('opener');
    expect(await log(page)).toEqual(['close', 'close']);
    await page.close();
  }, 60_000);

  it('submits once on Enter, is busy until the submit settles, shows its failure, then succeeds', async () => {
    const page = await open('en');
    await page.keyboard.type('new name');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[role="dialog"] form[aria-busy="true"]');
    expect(await page.isDisabled(submitButton)).toBe(true);
    // A second Enter while the first submit is pending sends nothing.
    await page.keyboard.press('Enter');
    expect(await log(page)).toEqual(['submit']);

    await page.evaluate(() => window.formDialogHarness.settle('the server said no'));
    await page.waitForSelector('[role="dialog"] form[aria-busy="false"]');
    expect(await page.textContent('[role="dialog"] [role="alert"]')).toBe('the server said no');
    expect(await page.isEnabled(submitButton)).toBe(true);

    await page.click(submitButton);
    await page.waitForSelector('[role="dialog"] form[aria-busy="true"]');
    // The failure shown belongs to the previous attempt: it goes when the next one starts.
    expect(await page.locator('[role="dialog"] [role="alert"]').count()).toBe(0);
    await page.evaluate(() => window.formDialogHarness.settle());
    await page.waitForSelector('[role="dialog"]', { state: 'detached' });
    expect(await log(page)).toEqual(['submit', 'submit', 'done']);
    await page.close();
  }, 60_000);

  it("shows the caller's own failure (the error prop) with the same alert", async () => {
    const page = await open('en');
    await page.evaluate(() => window.formDialogHarness.failLoad('could not load the choices'));
    expect(await page.textContent('[role="dialog"] [role="alert"]')).toBe('could not load the choices');
    await page.close();
  }, 60_000);
});
