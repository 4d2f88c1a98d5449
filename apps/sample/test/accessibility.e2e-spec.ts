/**
 * axe-core on every page of the sample and of the simulator, at 1280 and 390 px: no serious or critical
 * violation. axe-core runs inside the page (node_modules/axe-core/axe.min.js, injected with the pages' CSP
 * bypassed for the test only). Without axe-core installed the suite fails when CI=true and is skipped otherwise.
 * Not covered: /docs (Swagger UI, a third-party page).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TOKEN_PATH } from 'nestjs-alipay-auth-simulator';
import type { AlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { ALIPAY_SETUP, AlipaySetup } from '../src/alipay/alipay-setup';
import { browserSuite, launchChromium, PAGE_WIDTHS } from '../../../test/support/chromium';
import { SimulatedSample, startSimulatedSample } from './simulated-sample';

const AXE = join(process.cwd(), 'node_modules/axe-core/axe.min.js');
const haveAxe = existsSync(AXE);
const ci = process.env.CI === 'true';
if (!haveAxe && !ci) console.warn('accessibility.e2e-spec: axe-core is not installed (devDependency), skipping the suite (it fails instead when CI=true).');
const suite = haveAxe || ci ? browserSuite : describe.skip;

interface AxeResult {
  violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: string[] }> }>;
}

/** The serious and critical violations on the page as it is now: rule id and the first few elements. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResult> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id}: ${v.nodes
            .slice(0, 3)
            .map((n) => n.target.join(' '))
            .join(', ')}`,
      );
  });
}

suite('accessibility (axe-core): every page of the sample and of the simulator', () => {
  const M = { ok: '2021004177770001', failing: '2021004177770002', cancelled: '2021004177770003' };
  let sample: SimulatedSample;
  let browser: Browser;
  let setup: AlipaySetup;

  beforeAll(async () => {
    if (!haveAxe) throw new Error('axe-core is missing (CI=true): add it as a devDependency');
    sample = await startSimulatedSample('sample-a11y');
    setup = sample.app.get<AlipaySetup>(ALIPAY_SETUP);
    const controls = setup.simulator!.controls as AlipaySimulator['controls'];
    const appId = setup.moduleOptions.appId;
    for (const id of Object.values(M)) {
      const { app_auth_code: code } = controls.authorize(appId, { authAppId: id, userId: `2088${id.slice(-12)}` });
      await fetch(`${sample.base}/alipay/auth/callback?app_id=${appId}&app_auth_code=${code}`, { headers: { accept: 'application/json' } });
    }
    controls.addFault({ route: TOKEN_PATH, kind: 'rate-limit', grantType: 'refresh_token', count: 1 });
    await fetch(`${sample.base}/alipay/merchants/${M.failing}/refresh`, {
      method: 'POST',
      headers: { accept: 'application/json', authorization: 'Bearer sim' },
    });
    await controls.cancelAuthorization(appId, M.cancelled);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await sample?.close();
  });

  describe.each(PAGE_WIDTHS)('%s', (_name, width) => {
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      // Only so that axe can be injected: the pages' own CSP allows no script.
      context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
      page = await context.newPage();
    });
    afterAll(() => context?.close());

    it.each([
      ["operators' page, the attention queue", '/'],
      ["operators' page, all merchants, sorted by expiry", '/?view=all&sort=expires'],
      ["operators' page, a search without a match", '/?view=all&q=2088999999999999'],
      ["operators' page, a malformed search", '/?view=all&q=a-b'],
      ['stop serving: the confirmation page', `/alipay/merchants/${M.ok}/revoke?back=view%3Dall`],
      ["operators' page in Chinese, the attention queue", '/?lang=zh-CN'],
      ["operators' page in Chinese, all merchants, a malformed search", '/?view=all&q=a-b&lang=zh-CN'],
      ['stop serving in Chinese: the confirmation page', `/alipay/merchants/${M.ok}/revoke?back=view%3Dall%26lang%3Dzh-CN`],
      ['merchant: an error page', '/alipay/auth/callback?app_id=2021009000000001&app_auth_code=bad!'],
    ])('%s', async (_what, path) => {
      await page.goto(`${sample.base}${path}`);
      expect(await seriousViolations(page)).toEqual([]);
    });

    it('the merchant journey: the simulator consent page, batch consent, the success page', async () => {
      await page.goto(`${sample.base}/alipay/auth/authorize`);
      await page.waitForURL(`${setup.simulatorUrl}/oauth2/appToAppAuth.htm?**`);
      expect(await seriousViolations(page)).toEqual([]);
      await page.click('#authorize');
      await page.locator('#result[data-result="authorized"]').waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      await page.goto(`${sample.base}/alipay/auth/authorize?batch=1`);
      await page.waitForURL(`${setup.simulatorUrl}/oauth2/appToAppBatchAuth.htm?**`);
      expect(await seriousViolations(page)).toEqual([]);
    });

    it("the task link: the simulator's task page (PC and the phone form) and the success page", async () => {
      for (const path of ['/alipay/auth/authorize?flow=task', '/alipay/auth/authorize?flow=task&device=phone']) {
        await page.goto(`${sample.base}${path}`);
        await page.locator('#merchant-apps').waitFor();
        expect(await seriousViolations(page)).toEqual([]);
      }
      await page.click('#authorize');
      await page.locator('#result[data-result="authorized"]').waitFor();
      expect(await seriousViolations(page)).toEqual([]);
    });
  });
});
