/// <reference lib="dom" />
import { type Browser, type Page } from 'playwright-core';
import { Pipeline, waitFor } from '@citysoc/testing';
import { axe, describeWithChromium, launchChromium, login, PASSWORD } from './browser';
import { seed } from './seed';

const d = describeWithChromium('console e2e: account, pin from anywhere, bulk by selection');

interface Detail {
  status: string;
  evidence: Array<{ kind: string; ref_id: string; note: string; actor: string }>;
}

d.each(['vi', 'en'] as const)('account, pins and bulk selection (%s)', (lang) => {
  const pipeline = new Pipeline({ apps: ['api'], env: { CITYSOC_LOGIN_RATE_PER_MINUTE: '100' } });
  let browser: Browser;
  /** Incident id by seeded source address (198.51.100.10 … .15). */
  const byIp = new Map<string, string>();

  beforeAll(async () => {
    await seed(pipeline.dataDir, Date.now());
    await pipeline.start();
    for (const [username, unit] of [
      ['phan.tich', undefined],
      ['kim.ma', 'hanoi/ba-dinh/kim-ma'],
    ] as const) {
      const r = await pipeline.api('POST', '/api/v1/users', {
        username,
        password: PASSWORD,
        role: 'responder',
        ...(unit ? { unit } : {}),
      });
      expect(r.status).toBe(201);
    }
    const list = await pipeline.api<{ items: Array<{ id: string; entity: string }> }>(
      'GET',
      '/api/v1/incidents?limit=50',
    );
    for (const i of list.body.items) byIp.set(i.entity.replace('source.ip:', ''), i.id);
    expect(byIp.size).toBe(6);
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
  const detail = async (id: string) => (await pipeline.api<Detail>('GET', `/api/v1/incidents/${id}`)).body;

  it('account page shows the user, role and unit; changes the password with clear refusals', async () => {
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'kim.ma', lang);
    await page.locator('header .who a[href="/account"]').click();
    await page.waitForSelector('[data-testid="me"] dd');
    const facts = await page.locator('[data-testid="me"] dd').allTextContents();
    expect(facts[0]).toBe('kim.ma');
    expect(facts[1]).toBe(lang === 'vi' ? 'Ứng cứu viên' : 'Responder');
    expect(facts[2]).toBe('hanoi/ba-dinh/kim-ma');
    await axe(page);
    // Fields are found by their accessible labels.
    const current = page.getByLabel(lang === 'vi' ? 'Mật khẩu hiện tại' : 'Current password');
    const fresh = page.getByLabel(lang === 'vi' ? 'Mật khẩu mới' : 'New password', { exact: true });
    const again = page.getByLabel(lang === 'vi' ? 'Nhập lại mật khẩu mới' : 'New password again');
    const submit = page.locator('form button[type="submit"]');
    const alert = page.locator('form [role="alert"]');

    await submit.click();
    await page.waitForFunction(
      (want) => document.querySelector('form [role="alert"]')?.textContent === want,
      lang === 'vi' ? 'Hãy nhập mật khẩu hiện tại.' : 'Type your current password.',
    );
    await current.fill(PASSWORD);
    await fresh.fill('short');
    await again.fill('short');
    await submit.click();
    await alert.waitFor();
    expect(await alert.textContent()).toContain('12');

    await fresh.fill('a brand new passphrase');
    await again.fill('a brand new passphrase!');
    await submit.click();
    await page.waitForFunction(
      (want) => document.querySelector('form [role="alert"]')?.textContent === want,
      lang === 'vi' ? 'Hai lần nhập mật khẩu mới không khớp.' : 'The two new passwords differ.',
    );

    await current.fill('not the password at all');
    await again.fill('a brand new passphrase');
    await submit.click();
    await page.waitForFunction(
      (want) => document.querySelector('form [role="alert"]')?.textContent === want,
      lang === 'vi' ? 'Mật khẩu hiện tại không đúng.' : 'The current password is wrong.',
    );
    await axe(page);

    await current.fill(PASSWORD);
    await submit.click();
    await page.waitForFunction(() =>
      /\S/.test(document.querySelector('[data-testid="account-status"]')?.textContent ?? ''),
    );
    expect(await alert.count()).toBe(0);
    expect(await current.inputValue()).toBe('');
    // The new password logs in; the old one no longer does.
    const ok = await fetch(`${pipeline.apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'kim.ma', password: 'a brand new passphrase' }),
    });
    expect(ok.status).toBe(200);
    const old = await fetch(`${pipeline.apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'kim.ma', password: PASSWORD }),
    });
    expect(old.status).toBe(401);
    await axe(page);
    await page.context().close();
  }, 90_000);

  it('pins a Hunt result to an open incident chosen in the dialog', async () => {
    const target = byIp.get('198.51.100.10')!;
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/hunt?field=${encodeURIComponent('source.ip:198.51.100.13')}`);
    const pin = page.locator('[data-testid="events"] button[data-pin-event="ev-console-3"]');
    await pin.waitFor();
    await pin.click();
    const dialog = page.locator('[role="dialog"]');
    await dialog.locator(`select[name="incident"] option[value="${target}"]`).waitFor({ state: 'attached' });
    await dialog.locator('select[name="incident"]').selectOption(target);
    await dialog.locator('textarea').fill('cùng máy quét, ghi nhận ở phường khác');
    await axe(page);
    await dialog.locator('button[type="submit"]').click();
    await page.waitForFunction(() =>
      /ev-console-3/.test(document.querySelector('[data-testid="pin-status"]')?.textContent ?? ''),
    );
    expect((await detail(target)).evidence).toEqual([
      expect.objectContaining({
        kind: 'event',
        ref_id: 'ev-console-3',
        note: 'cùng máy quét, ghi nhận ở phường khác',
        actor: 'phan.tich',
      }),
    ]);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('pins the event of an alert from the drawer to the incident it came from; pivots carry it', async () => {
    const inc = byIp.get('198.51.100.11')!;
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    await page.goto(`${pipeline.apiUrl}/incidents/${inc}?alert=al-console-1`);
    const open = page.locator('[role="dialog"] button[data-pin-event="ev-console-1"]');
    await open.waitFor();
    // The drawer's pivot to Hunt remembers the incident, so a pin made there defaults to it.
    expect(await page.locator('[role="dialog"] a[href^="/hunt"]').first().getAttribute('href')).toContain(
      `incident=${inc}`,
    );
    await open.click();
    await page.waitForSelector('[role="dialog"] select[name="incident"]');
    expect(await page.inputValue('[role="dialog"] select[name="incident"]')).toBe(inc);
    await page.fill('[role="dialog"] textarea', 'sự kiện gốc của cảnh báo');
    await axe(page);
    await page.click('[role="dialog"] button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="evidence"] q'));
    expect(await page.textContent('[data-testid="evidence"] q')).toBe('sự kiện gốc của cảnh báo');
    expect((await detail(inc)).evidence).toEqual([
      expect.objectContaining({ kind: 'event', ref_id: 'ev-console-1', actor: 'phan.tich' }),
    ]);
    await axe(page);
    await page.context().close();
  }, 60_000);

  it('bulk close by selection runs as a job: the confirmation repeats the count, then the result', async () => {
    const picked = [byIp.get('198.51.100.14')!, byIp.get('198.51.100.15')!];
    const page = await newPage();
    await login(page, pipeline.apiUrl, 'phan.tich', lang);
    for (const id of picked) await page.locator(`tr[data-id="${id}"] input[type="checkbox"]`).check();
    await page.click('[data-bulk="selection"]');
    const dialog = page.locator('[role="dialog"]');
    await dialog.locator('textarea').waitFor();
    expect(await dialog.textContent()).toContain('2');
    await dialog.locator('textarea').fill('máy quét nội bộ');
    await axe(page);
    await dialog.locator('button[type="submit"]').click();
    await page.waitForSelector('[data-testid="bulk-result"]');
    expect(await page.textContent('[data-testid="bulk-result"]')).toMatch(/2\D+2\D+0/);
    for (const id of picked) expect((await detail(id)).status).toBe('false_positive');
    const others = [...byIp.values()].filter((id) => !picked.includes(id));
    for (const id of others) expect((await detail(id)).status).not.toBe('false_positive');
    // The job is the audited path (start and end), not the one-shot endpoint.
    const audit = await waitFor(async () => {
      const r = await pipeline.api<{ items: Array<{ action: string }> }>('GET', '/api/v1/audit?limit=200');
      const actions = r.body.items.map((a) => a.action);
      return actions.includes('BULK BulkJobsController.finished') && actions;
    }, 'the bulk job to be audited');
    expect(audit).toContain('POST BulkJobsController.startSelection');
    await axe(page);
    await page.context().close();
  }, 60_000);
});
