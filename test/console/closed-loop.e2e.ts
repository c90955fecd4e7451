/// <reference lib="dom" />
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { Pipeline, repoRoot, waitFor } from '@citysoc/testing';
import { axe, describeWithChromium, focusedOn, launchChromium, login, PASSWORD } from './browser';

/**
 * The whole loop through the real pipeline: a syslog line sent to the collector becomes an incident in the
 * console's queue, which an analyst claims and resolves with the keyboard.
 */
describeWithChromium('console closed-loop e2e')('syslog line → incident in the console → resolved', () => {
  const pipeline = new Pipeline({
    env: {
      CITYSOC_SYSLOG_TIMEZONE: Intl.DateTimeFormat().resolvedOptions().timeZone,
      CITYSOC_UNITS_FILE: path.join(repoRoot(), 'deploy', 'units.example.yml'),
      // Flow listeners are not part of this loop (and their fixed ports may be taken by other suites).
      CITYSOC_FLOW_NETFLOW_PORT: '-1',
      CITYSOC_FLOW_IPFIX_PORT: '-1',
    },
  });
  let browser: Browser;
  beforeAll(async () => {
    await pipeline.start();
    const r = await pipeline.api('POST', '/api/v1/users', {
      username: 'truc.ban',
      password: PASSWORD,
      role: 'responder',
    });
    expect(r.status).toBe(201);
    browser = await launchChromium();
  }, 300_000); // five apps, started one after another, on a machine shared by many suites
  afterAll(async () => {
    await browser?.close();
    await pipeline.stop();
  }, 60_000);

  it('is claimed and resolved in the UI', async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    execFileSync('logger', [
      '--server',
      '127.0.0.1',
      '--port',
      String(pipeline.syslogPort),
      '--tcp',
      '--octet-count',
      '--rfc5424',
      '-t',
      'sshd',
      '-p',
      'auth.info',
      `Failed password for invalid user u${tag} from 203.0.113.77 port 4242 ssh2`,
    ]);
    // Wait on the state the UI needs — the incident exists — not on a fixed number of reloads: on a loaded
    // machine the collector → detector → responder path can take longer than any guess.
    const found = await waitFor(
      async () => {
        const r = await pipeline.api<{ items?: Array<{ id: string; status: string }> }>(
          'GET',
          '/api/v1/incidents?limit=100',
        );
        return r.body.items?.find((i) => i.status === 'new' && JSON.stringify(i).includes('203.0.113.77'));
      },
      'the incident from the syslog line',
      150_000,
    );
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, timezoneId: 'UTC' });
    // Playwright's 30 s default per wait is tight for chromium on a machine shared by many suites.
    ctx.setDefaultTimeout(60_000);
    const page = await ctx.newPage();
    await login(page, pipeline.apiUrl, 'truc.ban', 'vi');
    // The queue is not polled by the page: it announces live changes; the analyst refreshes when ready.
    const id = found.id;
    const row = page.locator(`table[role="grid"] tbody tr[data-id="${id}"]`);
    await row.waitFor();
    await row.focus();
    await page.keyboard.press('c');
    await page.waitForFunction((i) => document.querySelector(`tr[data-id="${i}"] .status-acknowledged`), id);
    await page.keyboard.press('Enter');
    await page.waitForFunction((i) => location.pathname === `/incidents/${i}`, id);
    await page.waitForSelector('[data-testid="status"] .status-acknowledged');
    await page.keyboard.press('s');
    await page.waitForSelector('[role="dialog"] select');
    await focusedOn(page, 'SELECT');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="status"] .status-in_progress');
    await page.keyboard.press('e');
    await page.waitForSelector('[role="dialog"] textarea');
    await focusedOn(page, 'SELECT');
    await page.keyboard.press('Tab');
    await focusedOn(page, 'TEXTAREA');
    await page.keyboard.type('Đã chặn 203.0.113.77 tại tường lửa');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="status"] .status-resolved');
    const r = await pipeline.api<{ status: string; assignee: string; reason: string }>(
      'GET',
      `/api/v1/incidents/${id}`,
    );
    expect(r.body).toMatchObject({
      status: 'resolved',
      assignee: 'truc.ban',
      reason: 'Đã chặn 203.0.113.77 tại tường lửa',
    });
    await axe(page);
    await ctx.close();
  }, 300_000);
});
