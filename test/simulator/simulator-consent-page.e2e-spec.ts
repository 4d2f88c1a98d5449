/**
 * The simulator's consent page as a merchant sees it in Chromium (playwright-core), at desktop width and
 * at 390 px: approve, cancel (and the way back to the ISV), the batch page and the error page.
 * Screenshots go to docs/screenshots/ (committed, looked at by a person).
 * Needs /usr/bin/chromium: missing, the suite fails when CI=true and is skipped otherwise.
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { AlipaySimulator, startAlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { vectors } from '../fixtures/vectors';
import { browserSuite, launchChromium, PAGE_WIDTHS, withPageAt } from '../support/chromium';

const APP_ID = '2021004100000001';
const SHOTS = join(process.cwd(), 'docs/screenshots');

/** A stand-in ISV site: a home page with the authorization link, and a callback that echoes its query. */
async function startIsv(linkTo: () => string) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://isv');
    const body =
      url.pathname === '/callback'
        ? `<h1 id="callback">callback</h1><pre id="query">${url.search.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>`
        : `<h1 id="isv-home">ISV home</h1><a id="start" href="${linkTo()}">Authorize</a>`;
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' }).end(`<!DOCTYPE html><meta charset="utf-8">${body}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // "localhost" while the simulator is on 127.0.0.1: two sites, as with the real Alipay.
  return { base: `http://localhost:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

browserSuite('simulator consent page in a browser', () => {
  let sim: AlipaySimulator;
  let isv: Awaited<ReturnType<typeof startIsv>>;
  let browser: Browser;
  let callback: string;

  const link = (path = '/oauth2/appToAppAuth.htm', extra: Record<string, string> = {}) =>
    `${sim.url}${path}?${new URLSearchParams({ app_id: APP_ID, redirect_uri: callback, state: 'st-1', ...extra })}`;

  /** A fresh browser context at this width (a phone below 600 px), closed afterwards. */
  const withPage = (width: number, body: (page: Page) => Promise<void>) => withPageAt(browser, width, body);

  /** The query the stand-in ISV callback received. */
  const callbackQuery = async (page: Page) => new URLSearchParams((await page.locator('#query').textContent()) ?? '');

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  /** Nothing is wider than the viewport: no sideways scrolling on a phone. */
  const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    isv = await startIsv(() => link());
    callback = `${isv.base}/callback`;
    sim = await startAlipaySimulator({ apps: [{ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, redirectUris: [callback] }] });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await sim?.close();
    await isv?.close();
  });

  it.each(PAGE_WIDTHS)('approves on the consent page (%s)', async (name, width) => {
    await withPage(width, async (page) => {
      await page.goto(`${isv.base}/`);
      await page.click('#start');
      await page.waitForURL(`${sim.url}/oauth2/appToAppAuth.htm?**`);
      expect(await page.locator('#simulator-badge').isVisible()).toBe(true);
      expect(await page.locator('#isv-app-id').textContent()).toBe(APP_ID);
      expect(await page.locator('h1').textContent()).toContain('Authorize a third-party app');
      expect(await fitsWidth(page)).toBe(true);
      await page.fill('#auth_app_id', '2021004188880001');
      await shot(page, `consent-${name}`);
      await page.click('#authorize');
      await page.waitForURL(`${callback}?**`);
      const q = await callbackQuery(page);
      expect([...q.keys()]).toEqual(['app_id', 'source', 'app_auth_code', 'state']);
    });
  });

  it.each(PAGE_WIDTHS)('cancel leads back to the ISV, or to the page again (%s)', async (name, width) => {
    await withPage(width, async (page) => {
      await page.goto(link());
      await page.click('#cancel');
      await page.locator('#cancelled').waitFor();
      expect(await page.locator('#cancelled').textContent()).toContain('You cancelled the authorization');
      expect(await fitsWidth(page)).toBe(true);
      await shot(page, `cancelled-${name}`);
      await page.click('#authorize-again');
      await page.locator('#authorize').waitFor();
      await page.click('#cancel');
      await page.click('#back-to-isv');
      await page.waitForURL(`${isv.base}/`);
      expect(await page.locator('#isv-home').isVisible()).toBe(true);
    });
  });

  it('shows the batch page with the application types (mobile)', async () => {
    await withPage(390, async (page) => {
      await page.goto(link('/oauth2/appToAppBatchAuth.htm', { application_type: 'TINYAPP,WEBAPP' }));
      expect(await page.locator('#application-types .chip').allTextContents()).toEqual(['TINYAPP', 'WEBAPP']);
      expect(await fitsWidth(page)).toBe(true);
      await shot(page, 'consent-batch-mobile');
      await page.click('#authorize');
      await page.waitForURL(`${callback}?**`);
      expect((await callbackQuery(page)).get('application_type')).toBe('TINYAPP,WEBAPP');
    });
  });

  it.each(PAGE_WIDTHS)('explains an error in both languages and offers the way back (%s)', async (name, width) => {
    await withPage(width, async (page) => {
      await page.goto(`${isv.base}/`);
      // A redirect_uri the app did not register: the page must not send the merchant there.
      const res = await page.goto(link(undefined, { redirect_uri: 'https://evil.example/cb' }));
      expect(res!.status()).toBe(400);
      expect(await page.locator('#error').textContent()).toBe('授权失败Authorization failed');
      expect(await page.locator('#error-message').textContent()).toContain("does not match the app's registered callback URL");
      expect(await page.locator('#back-to-isv').getAttribute('href')).toBe(`${isv.base}/`);
      expect(await fitsWidth(page)).toBe(true);
      await shot(page, `error-${name}`);
      await page.click('#go-back');
      await page.waitForURL(`${isv.base}/`);
    });
  });
});
