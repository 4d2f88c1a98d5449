/**
 * The operators' page at 10,000 merchants in a real browser (headless Chromium, simulation mode): the queue of
 * rows needing attention is the landing view, a counter filters by state, search finds a merchant by either id,
 * paging says where the operator is, and an action brings the operator back to the same page and row.
 * Screenshots: docs/screenshots/console-*.png at 1280 and 390 px. Seeded set-based (test/support/seed-merchants).
 * Needs /usr/bin/chromium: missing, the suite fails when CI=true and is skipped otherwise.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from 'nestjs-alipay-auth';
import { seededMerchant, seedMerchants } from '../../../test/support/seed-merchants';
import { browserSuite, launchChromium } from '../../../test/support/chromium';
import { SimulatedSample, startSimulatedSample } from './simulated-sample';

const MERCHANTS = 10_000;
// The oldest authorizations: last in the default order, where the old page buried them (page 200 of 200).
const FAILING = [0, 1];
const PROBLEMS = { 0: 'failing', 1: 'failing', 2: 'verifying', 3: 'reauthorization_required', 4: 'cancelled' } as const;

browserSuite("operators' console at 10,000 merchants", () => {
  const DOC_SHOTS = join(process.cwd(), 'docs/screenshots');
  let sample: SimulatedSample;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(DOC_SHOTS, { recursive: true });
    sample = await startSimulatedSample('sample-console');
    const { app } = sample;
    base = sample.base;
    await seedMerchants(app.get(DataSource), app.get<ResolvedAlipayAuthConfig>(ALIPAY_AUTH_CONFIG), { count: MERCHANTS, problems: PROBLEMS });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await sample?.close();
  });

  describe.each([
    ['desktop', 1280, 800],
    ['mobile', 390, 844],
  ] as const)('%s', (name, width, height) => {
    let page: Page;
    const save = (what: string) => page.screenshot({ path: join(DOC_SHOTS, `console-${what}-${name}.png`), fullPage: false });
    const rows = () => page.locator('#merchants tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-auth-app-id')));

    beforeAll(async () => {
      page = await browser.newPage({ viewport: { width, height } });
    });
    afterAll(() => page?.close());

    it('lands on the rows needing attention, the list above the fold; a counter filters to the failing ones (1 click)', async () => {
      await page.goto(`${base}/`);
      expect(await page.locator('#counts a[aria-current="page"]').getAttribute('data-count')).toBe('attention');
      expect(await page.locator('#counts [data-count="all"] b').textContent()).toBe(String(MERCHANTS));
      // The seeded problems, oldest last (an earlier case's action may have added one, newer).
      const listed = await rows();
      expect(listed.slice(-5)).toEqual([4, 3, 2, 1, 0].map((i) => seededMerchant(i).authAppId));
      expect(await page.locator('#counts [data-count="attention"] b').textContent()).toBe(String(listed.length));
      // The first row starts on the first screen (its id and state visible): the link card is folded.
      const top = await page.locator('#merchants tbody tr').first().boundingBox();
      expect(top!.y + 60).toBeLessThan(height);
      await save('attention');
      // Keyboard: the first Tab lands on the skip link; every row action has a name of its own.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip');
      const names = await page
        .locator('#merchants button, #merchants a.btn, #merchants input:not([type=hidden])')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent!.replace(/\s+/g, ' ').trim()));
      expect(names.length).toBeGreaterThan(0);
      expect(new Set(names).size).toBe(names.length);

      await page.click('#counts [data-count="failing"]');
      await page.waitForURL(/view=failing/);
      expect(await rows()).toEqual(expect.arrayContaining(FAILING.map((i) => seededMerchant(i).authAppId)));
      expect(await page.locator(`#m-${seededMerchant(0).authAppId} .status`).textContent()).toBe('refresh failing');
    });

    it('search finds a merchant by its app id or by its Alipay user id', async () => {
      await page.goto(`${base}/?view=all`);
      const m = seededMerchant(7321);
      await page.fill('#search', m.authAppId);
      await page.click('form[role="search"] button[type="submit"]');
      await page.waitForURL(/q=/);
      expect(await rows()).toEqual([m.authAppId]);
      await page.fill('#search', m.userId);
      await page.click('form[role="search"] button[type="submit"]');
      await page.waitForURL(new RegExp(`q=${m.userId}`));
      expect(await rows()).toEqual([m.authAppId]);
      await page.fill('#search', 'no-such-id!');
      await page.click('form[role="search"] button[type="submit"]');
      expect(await page.locator('#search-error').textContent()).toContain('letters and digits');
    });

    it('pages say where the operator is; first, last and the page size move through 10,000 rows', async () => {
      await page.goto(`${base}/?view=all`);
      expect(await page.locator('#page-of').textContent()).toBe('Page 1 of 200');
      await page.click('#page-last');
      await page.waitForURL(/page=200/);
      expect(await page.locator('#page-of').textContent()).toBe('Page 200 of 200');
      expect((await rows()).at(-1)).toBe(seededMerchant(0).authAppId);
      await page.selectOption('#size', '200');
      await page.selectOption('#sort', 'expires');
      await page.click('form[role="search"] button[type="submit"]');
      await page.waitForURL(/size=200/);
      expect(await page.locator('#page-of').textContent()).toBe('Page 1 of 50');
      expect(await rows()).toHaveLength(200);
      // Soonest expiry first: the oldest authorizations (tokens issued a year ago).
      expect((await rows())[0]).toBe(seededMerchant(0).authAppId);
      expect(await page.locator('#page-first').count()).toBe(0); // on the first page, "First" is not a link
      await page.click('#page-next');
      await page.waitForURL(/page=2/);
      expect(await page.locator('#page-of').textContent()).toBe('Page 2 of 50');
      await page.click('#page-first');
      await page.waitForURL((u) => !u.searchParams.has('page'));
      expect(await page.locator('#page-of').textContent()).toBe('Page 1 of 50');
      expect(new URL(page.url()).searchParams.get('sort')).toBe('expires');
      // Last failure first (an action of the other width's run may have added a newer one).
      await page.goto(`${base}/?view=all&sort=lastFailure`);
      const seeded = [0, 1, 2].map((i) => seededMerchant(i).authAppId);
      expect((await rows()).slice(0, 5).filter((id) => seeded.includes(id!))).toEqual(seeded);
      expect(await page.locator(`#m-${seeded[0]} .last-failure`).textContent()).toMatch(/^last failed \d{4}-\d\d-\d\d \d\d:\d\d$/);
      expect(await page.locator(`#m-${seededMerchant(9).authAppId} .last-failure`).count()).toBe(0);
    });

    it('an action returns to the same view, page and row, anchored and highlighted', async () => {
      await page.goto(`${base}/?view=all&page=37&size=20`);
      // A row still served (the other width's run may have moved one on).
      const target = (await page.locator('#merchants tbody tr:has(button)').nth(3).getAttribute('data-auth-app-id'))!;
      await page.locator(`#m-${target} button`, { hasText: 'Refresh now' }).click();
      await page.locator('#notice').waitFor();
      const url = new URL(page.url());
      expect(url.searchParams.get('view')).toBe('all');
      expect(url.searchParams.get('page')).toBe('37');
      expect(url.searchParams.get('size')).toBe('20');
      expect(url.hash).toBe(`#m-${target}`);
      expect(await page.locator('#page-of').textContent()).toBe('Page 37 of 500');
      expect(await page.locator('tr.highlight').getAttribute('data-auth-app-id')).toBe(target);
      // The seeded tokens are unknown to the simulator: Alipay refuses, and the notice says so for this merchant.
      expect(await page.locator('#notice').textContent()).toContain(target);
      await save('returned');
    });
  });
});
