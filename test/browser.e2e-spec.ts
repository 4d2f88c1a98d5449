/**
 * The merchant's and the operator's journey in a real browser (headless Chromium through playwright-core):
 * operators' page -> authorization link -> the simulator's consent page -> callback success page ->
 * the merchant on the operators' page. Screenshots go to test-output/browser/ (gitignored).
 * Needs /usr/bin/chromium: missing, the suite fails when CI=true and is skipped otherwise.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { AlipaySimulator, startAlipaySimulator } from '../apps/alipay-simulator/src';
import { createSampleApp } from '../apps/sample/src/sample-app';
import { vectors } from './fixtures/vectors';

const CHROMIUM = '/usr/bin/chromium';
const APP_ID = '2021004100000001';
const MERCHANT = '2021004188880001';
const SHOTS = join(process.cwd(), 'test-output/browser');
const haveChromium = existsSync(CHROMIUM);
const ci = process.env.CI === 'true';

if (!haveChromium && !ci) {
  console.warn(`browser.e2e-spec: ${CHROMIUM} not found, skipping the browser suite (it fails instead when CI=true).`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const suite = haveChromium || ci ? describe : describe.skip;

suite('sample app in a browser', () => {
  let sim: AlipaySimulator;
  let app: NestExpressApplication;
  let browser: Browser;
  let page: Page;
  let base: string;
  let dir: string;

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${CHROMIUM} is missing (CI=true): install Debian's chromium package`);
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'sample-browser-'));
    const port = await freePort();
    // The app on "localhost", the simulator on 127.0.0.1: two sites, as with the real Alipay, so the
    // SameSite=Lax state cookie must survive a cross-site redirect back to the callback.
    base = `http://localhost:${port}`;
    sim = await startAlipaySimulator({
      apps: [{ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, redirectUris: [`${base}/alipay/auth/callback`], notifyUrl: `${base}/alipay/notify` }],
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
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
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
