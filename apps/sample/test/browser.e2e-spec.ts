/**
 * The merchant's and the operator's journey in a real browser (headless Chromium through playwright-core):
 * operators' page -> authorization link -> the simulator's consent page -> callback success page ->
 * the merchant on the operators' page. Screenshots go to test-output/browser/ (gitignored).
 * Needs /usr/bin/chromium: missing, the suite fails when CI=true and is skipped otherwise.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { AlipaySimulator, startAlipaySimulator, TOKEN_PATH } from 'nestjs-alipay-auth-simulator';
import { ALIPAY_SETUP, AlipaySetup } from '../src/alipay/alipay-setup';
import { createSampleApp } from '../src/sample-app';
import { vectors } from '../../../test/fixtures/vectors';
import { freePort } from '../../../test/support/free-port';
import { haveCjkFont } from './cjk-font';
import { browserSuite, launchChromium, PAGE_WIDTHS } from '../../../test/support/chromium';
import { SimulatedSample, startSimulatedSample } from './simulated-sample';

const APP_ID = '2021004100000001';
const MERCHANT = '2021004188880001';
const SHOTS = join(process.cwd(), 'test-output/browser');
const suite = browserSuite;

suite('sample app in a browser', () => {
  let sim: AlipaySimulator;
  let app: NestExpressApplication;
  let browser: Browser;
  let page: Page;
  let base: string;
  let dir: string;

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'sample-browser-'));
    const port = await freePort();
    // The app on "localhost", the simulator on 127.0.0.1: two sites, as with the real Alipay, so the
    // SameSite=Lax state cookie must survive a cross-site redirect back to the callback.
    base = `http://localhost:${port}`;
    sim = await startAlipaySimulator({
      apps: [
        { appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, redirectUris: [`${base}/alipay/auth/callback`], notifyUrl: `${base}/alipay/notify` },
      ],
    });
    app = await createSampleApp({
      logger: false,
      env: {
        PORT: String(port),
        PUBLIC_BASE_URL: base,
        ALIPAY_APP_ID: APP_ID,
        ALIPAY_PRIVATE_KEY: vectors.keys.app.privateKeyPkcs8Pem,
        ALIPAY_PUBLIC_KEY: sim.alipayPublicKeyPem,
        ALIPAY_GATEWAY: sim.url,
        ALIPAY_TOKEN_ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
        SQLITE_PATH: join(dir, 'sample.sqlite'),
        STATE_SECRET: randomBytes(32).toString('base64url'),
      },
      alipay: { refresh: { enabled: false } },
    });
    await app.listen(port);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('authorizes a merchant through the link, the consent page and the callback', async () => {
    await page.goto(`${base}/`);
    await page.locator('#no-merchants').waitFor();
    await page.locator('.qr svg').waitFor();
    await shot('01-operators-page');

    await page.click('#authorize-link');
    await page.waitForURL(`${sim.url}/oauth2/appToAppAuth.htm?**`);
    await page.fill('#auth_app_id', MERCHANT);
    await page.fill('#user_id', '2088000000008888');
    await shot('02-simulator-consent');

    await page.click('#authorize');
    await page.waitForURL(`${base}/alipay/auth/callback?**`);
    await page.locator('#result[data-result="authorized"]').waitFor();
    expect(await page.locator('#title').textContent()).toBe('Authorization complete');
    expect(await page.locator(`[data-auth-app-id="${MERCHANT}"]`).textContent()).toBe(MERCHANT);
    await shot('03-callback-success');

    await page.reload();
    await page.locator('#result[data-result="authorized"]').waitFor();

    await page.goto(`${base}/`);
    const row = page.locator(`tr[data-auth-app-id="${MERCHANT}"]`);
    await row.waitFor();
    expect(await row.locator('.status').textContent()).toBe('active');
    expect(await row.textContent()).toContain('2088000000008888');
    await shot('04-operators-merchant');

    await row.locator('button', { hasText: 'Refresh now' }).click();
    await page.locator('#notice').waitFor();
    expect(await page.locator('#notice').textContent()).toContain(`Refreshed the token of merchant app ${MERCHANT}`);
    await shot('05-refreshed');
  });
});

/**
 * The sample's pages as an operator and a merchant see them, in simulation mode, at desktop (1280 px) and
 * phone (390 px) width: the states of the merchant list (active, failing, verifying, cancelled), the
 * success and error pages with their next steps. Screenshots go to docs/screenshots/sample-*.png.
 */
suite('sample pages at 1280 and 390 px (simulation mode)', () => {
  const DOC_SHOTS = join(process.cwd(), 'docs/screenshots');
  const M = { ok: '2021004155550001', failing: '2021004155550002', verifying: '2021004155550003', cancelled: '2021004155550004' };
  let sample: SimulatedSample;
  let browser: Browser;
  let base: string;
  let setup: AlipaySetup;
  type Controls = AlipaySimulator['controls'];

  beforeAll(async () => {
    mkdirSync(DOC_SHOTS, { recursive: true });
    sample = await startSimulatedSample('sample-pages');
    const { app } = sample;
    base = sample.base;
    setup = app.get<AlipaySetup>(ALIPAY_SETUP);
    const controls = setup.simulator!.controls as Controls;
    const appId = setup.moduleOptions.appId;
    for (const id of Object.values(M)) {
      const { app_auth_code: code } = controls.authorize(appId, { authAppId: id, userId: `2088${id.slice(-12)}` });
      const res = await fetch(`${base}/alipay/auth/callback?app_id=${appId}&app_auth_code=${code}`, { headers: { accept: 'application/json' } });
      expect(res.status).toBe(200);
    }
    // No ADMIN_TOKEN in simulation: any Bearer header makes the JSON refresh API usable.
    const refresh = (id: string) =>
      fetch(`${base}/alipay/merchants/${id}/refresh`, { method: 'POST', headers: { accept: 'application/json', authorization: 'Bearer sim' } });
    controls.addFault({ route: TOKEN_PATH, kind: 'rate-limit', grantType: 'refresh_token', count: 1 });
    expect((await refresh(M.failing)).status).toBe(502);
    controls.addFault({ route: TOKEN_PATH, kind: 'http-503', grantType: 'refresh_token', count: 1 });
    expect((await refresh(M.verifying)).status).toBe(502);
    expect((await controls.cancelAuthorization(appId, M.cancelled)).cancelled).toBe(true);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await sample?.close();
  });

  describe.each(PAGE_WIDTHS)('%s', (name, width) => {
    let page: Page;
    const save = (what: string) => page.screenshot({ path: join(DOC_SHOTS, `sample-${what}-${name}.png`), fullPage: true });
    /** Nothing wider than the viewport: no sideways scrolling on a phone. */
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

    beforeAll(async () => {
      page = await browser.newPage({ viewport: { width, height: 900 } });
    });
    afterAll(() => page?.close());

    it("operators' page: each merchant's true state, next times, the batch link and the QR code's limits", async () => {
      await page.goto(`${base}/?view=all`);
      await page.click('#link-card summary');
      const state = (id: string) => page.locator(`tr[data-auth-app-id="${id}"]`).getAttribute('data-state');
      expect([await state(M.ok), await state(M.failing), await state(M.verifying), await state(M.cancelled)]).toEqual([
        'active',
        'failing',
        'verifying',
        'cancelled',
      ]);
      expect(await page.locator(`tr[data-auth-app-id="${M.failing}"] .status`).textContent()).toBe('refresh failing');
      expect(await page.locator(`tr[data-auth-app-id="${M.failing}"]`).textContent()).toContain('needs attention');
      expect(await page.locator(`tr[data-auth-app-id="${M.cancelled}"]`).textContent()).not.toContain('expires');
      expect(await page.locator('#qr-warning').textContent()).toContain('which a phone cannot reach');
      expect(await page.locator('#batch-authorize-link').getAttribute('href')).toBe(`${base}/alipay/auth/authorize?batch=1`);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await save('operators');
    });

    it('"Refresh now" shows its notice once; a reload does not repeat it', async () => {
      await page.goto(`${base}/?view=all`);
      await page.locator(`tr[data-auth-app-id="${M.ok}"] button`, { hasText: 'Refresh now' }).click();
      await page.locator('#notice').waitFor();
      expect(await page.locator('#notice').textContent()).toContain(`Refreshed the token of merchant app ${M.ok}`);
      await page.reload();
      expect(await page.locator('#notice').count()).toBe(0);
    });

    it("the batch link opens the batch authorization page; success, then back to the operators' page", async () => {
      await page.goto(`${base}/`);
      // Merchants exist: the link card is folded so that the list starts above the fold.
      expect(await page.locator('#link-card').getAttribute('open')).toBeNull();
      await page.click('#link-card summary');
      await page.click('#batch-authorize-link');
      await page.waitForURL(`${setup.simulatorUrl}/oauth2/appToAppBatchAuth.htm?**`);
      expect(new URL(page.url()).searchParams.get('application_type')).toBe('TINYAPP,WEBAPP');
      await page.click('#authorize');
      await page.waitForURL(`${base}/alipay/auth/callback?**`);
      await page.locator('#result[data-result="authorized"]').waitFor();
      expect(await page.locator('#result').textContent()).toContain(`You have authorized app ${setup.moduleOptions.appId}`);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await save('authorized');
      await page.click('#back-to-operators');
      await page.waitForURL(`${base}/`);
    });

    it('a Chinese browser gets the merchant pages in Chinese, without protocol words', async () => {
      const zh = await browser.newContext({ viewport: { width, height: 900 }, locale: 'zh-CN' });
      try {
        const zhPage = await zh.newPage();
        await zhPage.goto(`${base}/alipay/auth/callback?app_id=${setup.moduleOptions.appId}&app_auth_code=bad!`);
        await zhPage.locator('#result[data-result="error"]').waitFor();
        expect(await zhPage.locator('html').getAttribute('lang')).toBe('zh-CN');
        expect(await zhPage.locator('#title').textContent()).toBe('此链接无法使用');
        expect(await zhPage.locator('#retry').textContent()).toBe('重新授权');
        expect(await zhPage.locator('main').textContent()).not.toMatch(/app_auth_code|parameter|state/i);
        // Without a CJK font Chromium draws boxes: the screenshot only where one is installed (docs, not CI).
        if (haveCjkFont) await zhPage.screenshot({ path: join(DOC_SHOTS, `sample-error-zh-${name}.png`), fullPage: true });
      } finally {
        await zh.close();
      }
    });

    it("a Chinese browser gets the operators' page in Chinese; the switch changes it, and every link keeps the choice", async () => {
      const zh = await browser.newContext({ viewport: { width, height: 900 }, locale: 'zh-CN' });
      try {
        const zhPage = await zh.newPage();
        await zhPage.goto(`${base}/?view=all`);
        expect(await zhPage.locator('html').getAttribute('lang')).toBe('zh-CN');
        expect(await zhPage.locator(`tr[data-auth-app-id="${M.failing}"] .status`).textContent()).toBe('刷新失败');
        expect(await zhPage.locator(`tr[data-auth-app-id="${M.failing}"]`).textContent()).toContain('需要处理');
        expect(await zhPage.locator('#lang-switch [aria-current]').textContent()).toBe('中文');
        expect(await zhPage.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
        if (haveCjkFont) await zhPage.screenshot({ path: join(DOC_SHOTS, `sample-operators-zh-${name}.png`), fullPage: true });
        // English chosen on a Chinese browser: kept through a counter, the search form and an action.
        await zhPage.click('#lang-switch a[hreflang="en"]');
        await zhPage.waitForURL(/lang=en/);
        expect(await zhPage.locator('html').getAttribute('lang')).toBe('en');
        await zhPage.click('#counts [data-count="failing"]');
        await zhPage.waitForURL(/view=failing/);
        expect(new URL(zhPage.url()).searchParams.get('lang')).toBe('en');
        await zhPage.click('#counts [data-count="all"]');
        await zhPage.waitForURL(/view=all/);
        await zhPage.click('form[role="search"] button[type="submit"]');
        await zhPage.waitForURL(/view=all/);
        expect(new URL(zhPage.url()).searchParams.get('lang')).toBe('en');
        await zhPage.locator(`tr[data-auth-app-id="${M.ok}"] button`, { hasText: 'Refresh now' }).click();
        await zhPage.locator('#notice').waitFor();
        expect(new URL(zhPage.url()).searchParams.get('lang')).toBe('en');
        expect(await zhPage.locator('#notice').textContent()).toContain(`Refreshed the token of merchant app ${M.ok}`);
        // Back to Chinese: the next action's notice is in Chinese too.
        await zhPage.click('#lang-switch a[hreflang="zh-CN"]');
        await zhPage.waitForURL(/lang=zh-CN/);
        expect(await zhPage.locator('#merchants-title').textContent()).toContain('已授权商户');
        await zhPage.locator(`tr[data-auth-app-id="${M.ok}"] button`, { hasText: '立即刷新' }).click();
        await zhPage.locator('#notice').waitFor();
        expect(await zhPage.locator('#notice').textContent()).toBe(`已刷新商户应用 ${M.ok} 的令牌。`);
      } finally {
        await zh.close();
      }
    });

    it('an error page says what happened and offers the next step', async () => {
      await page.goto(`${base}/alipay/auth/callback?app_id=${setup.moduleOptions.appId}&app_auth_code=bad!`);
      await page.locator('#result[data-result="error"]').waitFor();
      expect(await page.locator('#retry').getAttribute('href')).toBe('/alipay/auth/authorize');
      expect(await page.locator('#back-to-operators').count()).toBe(1);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await save('error');
    });
  });
});
