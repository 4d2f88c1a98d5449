/**
 * The merchant-facing pages (callback success and errors) follow Accept-Language, zh-CN or en, in merchant
 * words: no parameter or protocol names reach the merchant; the JSON answers keep them for operators.
 */
import request from 'supertest';
import type { AlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { ALIPAY_SETUP, AlipaySetup } from '../src/alipay/alipay-setup';
import { SimulatedSample, startSimulatedSample } from './simulated-sample';

const ZH = 'zh-CN,zh;q=0.9,en;q=0.8';
let sample: SimulatedSample;
let controls: AlipaySimulator['controls'];
let appId: string;
const main = (page: string) => /<main[\s\S]*<\/main>/.exec(page)![0];

beforeAll(async () => {
  sample = await startSimulatedSample('sample-language');
  const setup = sample.app.get<AlipaySetup>(ALIPAY_SETUP);
  controls = setup.simulator!.controls as AlipaySimulator['controls'];
  appId = setup.moduleOptions.appId;
});

afterAll(() => sample?.close());

describe('merchant pages in the merchant’s language', () => {
  it('an error page: Chinese for a Chinese browser, English otherwise; no protocol words; JSON unchanged', async () => {
    const url = `/alipay/auth/callback?app_id=${appId}&app_auth_code=bad!`;
    const zh = await request(sample.base).get(url).set('accept-language', ZH).expect(400);
    expect(zh.text).toContain('<html lang="zh-CN">');
    expect(zh.text).toContain('<h2 id="title">此链接无法使用</h2>');
    expect(zh.text).toContain('>重新授权</a>');
    expect(main(zh.text)).not.toMatch(/app_auth_code|parameter|state/i);
    const en = await request(sample.base).get(url).set('accept-language', 'en-GB,zh;q=0.5').expect(400);
    expect(en.text).toContain('<html lang="en">');
    expect(en.text).toContain('<h2 id="title">This link does not work</h2>');
    expect(main(en.text)).not.toMatch(/app_auth_code|parameter|state/i);
    const json = await request(sample.base).get(url).set('accept', 'application/json').set('accept-language', ZH).expect(400);
    expect(json.body.error.message).toContain('"app_auth_code" parameter is malformed');
  });

  it('the success page in Chinese', async () => {
    const { app_auth_code: code } = controls.authorize(appId, { authAppId: '2021004188880042', userId: '2088000000880042' });
    const done = await request(sample.base).get(`/alipay/auth/callback?app_id=${appId}&app_auth_code=${code}`).set('accept-language', ZH).expect(200);
    expect(done.text).toContain('<h2 id="title">授权成功</h2>');
    expect(done.text).toContain(`您已授权应用 ${appId} 代您的应用处理业务。`);
    expect(done.text).toContain('data-auth-app-id="2021004188880042"');
  });
});
