/**
 * The task link (指定应用授权) in the sample, simulation mode: the operators' page offers it first (a PC
 * link and a QR code for phones) and the single link as the simple choice; the route sets the browser's
 * nonce and redirects to the PC or the phone form; the journey runs in Chromium on a PC (1280 px) and on a
 * phone (390 px, the QR code's target). Screenshots go to docs/screenshots/sample-task-*.png.
 * Needs /usr/bin/chromium for the browser part: missing, it fails when CI=true and is skipped otherwise.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import QRCode from 'qrcode';
import request from 'supertest';
import { ALIPAY_SETUP, AlipaySetup, SIMULATION_APP_ID } from '../src/alipay/alipay-setup';
import { createSampleApp } from '../src/sample-app';
import { browserSuite, launchChromium, withPageAt } from '../../../test/support/chromium';
import { freePort } from '../../../test/support/free-port';

const DOC_SHOTS = join(process.cwd(), 'docs/screenshots');

let app: NestExpressApplication;
let base: string;
let dir: string;
let simUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sample-task-'));
  const port = await freePort();
  // The app on "localhost", the simulator on 127.0.0.1: two sites, as with the real Alipay.
  base = `http://localhost:${port}`;
  app = await createSampleApp({
    logger: false,
    env: { PORT: String(port), ALIPAY_SIMULATOR_PORT: '0', SIMULATION_DATA_DIR: dir, SQLITE_PATH: join(dir, 'sample.sqlite') },
    alipay: { refresh: { enabled: false }, retries: 0 },
  });
  await app.listen(port);
  simUrl = app.get<AlipaySetup>(ALIPAY_SETUP).simulatorUrl!;
});
afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const bizData = (url: string) => {
  const u = new URL(url);
  const raw =
    u.pathname === '/platformapi/startapp' ? u.searchParams.get('page')!.slice('pages/authorize/index?bizData='.length) : u.searchParams.get('bizData')!;
  return JSON.parse(raw) as {
    platformCode: string;
    taskType: string;
    agentOpParam: { redirectUri: string; appTypes: string[]; isvAppId: string; state: string };
  };
};

describe('sample: the task link over HTTP', () => {
  it('flow=task sets the nonce cookie and redirects to the PC task page; device=phone to the form the QR opens; both carry the same task', async () => {
    const pc = await request(base).get('/alipay/auth/authorize?flow=task').expect(302);
    expect(pc.headers.location.startsWith(`${simUrl}/page/message/tasksDetail?bizData=`)).toBe(true);
    const cookie = ([] as string[]).concat(pc.headers['set-cookie'] ?? [])[0];
    expect(cookie).toMatch(/^alipay_auth_nonce=[A-Za-z0-9_-]{22};/);
    expect(cookie).toMatch(/HttpOnly/i);
    const task = bizData(pc.headers.location);
    expect(task).toMatchObject({
      platformCode: 'O',
      taskType: 'INTERFACE_AUTH',
      agentOpParam: { redirectUri: `${base}/alipay/auth/callback`, appTypes: ['TINYAPP', 'WEBAPP'], isvAppId: SIMULATION_APP_ID },
    });
    expect(task.agentOpParam.state).toMatch(/^[A-Za-z0-9+/]{74}==$/);

    const phone = await request(base).get('/alipay/auth/authorize?flow=task&device=phone').set('cookie', cookie.split(';')[0]).expect(302);
    expect(phone.headers.location.startsWith(`${simUrl}/platformapi/startapp?appId=2021003130652097&page=pages%2Fauthorize%2Findex%3FbizData%3D`)).toBe(true);
    // Same browser (same nonce): the same task, a state bound to the same nonce.
    const again = bizData(phone.headers.location);
    expect({ ...again.agentOpParam, state: undefined }).toEqual({ ...task.agentOpParam, state: undefined });
    expect(Buffer.from(again.agentOpParam.state, 'base64').subarray(7, 23)).toEqual(Buffer.from(task.agentOpParam.state, 'base64').subarray(7, 23));
  });

  it('refuses an unknown flow, or device without flow=task, with 400', async () => {
    for (const q of ['flow=multi', 'device=phone', 'flow=single&device=phone', 'flow=task&device=tablet', 'flow=task&batch=1', 'flow=task&flow=single']) {
      await request(base).get(`/alipay/auth/authorize?${q}`).expect(400);
    }
    // The single link stays the default, and batch=1 its legacy alias of flow=batch.
    expect(new URL((await request(base).get('/alipay/auth/authorize').expect(302)).headers.location).pathname).toBe('/oauth2/appToAppAuth.htm');
    expect(new URL((await request(base).get('/alipay/auth/authorize?flow=batch').expect(302)).headers.location).pathname).toBe('/oauth2/appToAppBatchAuth.htm');
  });

  it("the operators' page offers the task link first (PC link and a QR code of its phone form), the single link as the simple one", async () => {
    const home = (await request(base).get('/').expect(200)).text;
    const phoneUrl = `${base}/alipay/auth/authorize?flow=task&device=phone`;
    expect(home.indexOf('id="task-choice"')).toBeGreaterThan(-1);
    expect(home.indexOf('id="task-choice"')).toBeLessThan(home.indexOf('id="single-choice"'));
    expect(home).toContain(`id="task-qr-url">${phoneUrl.replace('&', '&amp;')}</code>`);
    expect(home).toContain(`id="task-authorize-link" href="${base}/alipay/auth/authorize?flow=task"`);
    expect(home).toContain(`id="authorize-link" href="${base}/alipay/auth/authorize"`);
    // The QR code is the phone form's URL, nothing else.
    const qr = /<div class="qr" id="task-qr"[^>]*>([\s\S]*?<\/svg>)/.exec(home)![1];
    expect(qr.trim()).toBe((await QRCode.toString(phoneUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' })).trim());
  });
});

browserSuite('sample: the task-link journey in a browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(DOC_SHOTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  const withPage = (width: number, body: (page: Page) => Promise<void>) => withPageAt(browser, width, body);
  const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  const shot = (page: Page, name: string) => page.screenshot({ path: join(DOC_SHOTS, `sample-task-${name}.png`), fullPage: true });

  it("PC: operators' page -> 'Authorize on this computer' -> the task page (pick an app) -> callback success -> the chosen app listed", async () => {
    await withPage(1280, async (page) => {
      await page.goto(`${base}/`);
      await page.locator('#task-choice .qr svg').waitFor();
      await shot(page, 'operators-desktop');
      await page.click('#task-authorize-link');
      await page.waitForURL(`${simUrl}/page/message/tasksDetail?**`);
      const apps = page.locator('input[name="merchant_app"]');
      expect(await apps.count()).toBe(2); // TINYAPP and WEBAPP
      const chosen = (await apps.nth(1).getAttribute('value'))!;
      await apps.nth(1).check();
      await shot(page, 'page-desktop');
      await page.click('#authorize');
      await page.waitForURL(`${base}/alipay/auth/callback?**`);
      await page.locator('#result[data-result="authorized"]').waitFor();
      expect(await page.locator(`[data-auth-app-id="${chosen}"]`).textContent()).toBe(chosen);
      await page.goto(`${base}/`);
      await page.locator(`tr[data-auth-app-id="${chosen}"]`).waitFor();
    });
  });

  it("phone (390 px): the QR code's target -> the task as the Alipay app would show it -> callback success, nothing wider than the screen", async () => {
    await withPage(390, async (page) => {
      await page.goto(`${base}/`);
      const target = (await page.locator('#task-qr-url').textContent())!;
      expect(await overflow(page)).toBeLessThanOrEqual(0);
      await shot(page, 'operators-mobile');
      await page.goto(target);
      await page.waitForURL(`${simUrl}/platformapi/startapp?**`);
      await page.locator('#opened-in-app').waitFor();
      expect(await overflow(page)).toBeLessThanOrEqual(0);
      const chosen = (await page.locator('input[name="merchant_app"]:checked').getAttribute('value'))!;
      await shot(page, 'page-mobile');
      await page.click('#authorize');
      await page.waitForURL(`${base}/alipay/auth/callback?**`);
      await page.locator('#result[data-result="authorized"]').waitFor();
      expect(await page.locator(`[data-auth-app-id="${chosen}"]`).textContent()).toBe(chosen);
      expect(await overflow(page)).toBeLessThanOrEqual(0);
      await shot(page, 'authorized-mobile');
    });
  });
});
