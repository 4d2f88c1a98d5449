/**
 * The task link (指定应用授权, protocol doc §10.1) end to end over HTTP: the library builds the link, the
 * simulator serves its PC page and the page the phone QR opens, the merchant picks one of its apps, and the
 * callback carries a code and the state, which verifies and exchanges. Refusals name what is wrong.
 */
import { Test } from '@nestjs/testing';
import { AlipayAuthModule, AlipayAuthorizationLinkService, AlipayTokenService } from 'nestjs-alipay-auth';
import { InMemoryAlipayTokenStore } from 'nestjs-alipay-auth/testing';
import { AlipaySimulator, startAlipaySimulator, TASK_LAUNCH_PATH, TASK_PAGE_PATH } from 'nestjs-alipay-auth-simulator';
import { vectors } from '../fixtures/vectors';

const APP = '2021004100000001';
const CALLBACK = 'https://isv.example.com/alipay/auth/callback';

let sim: AlipaySimulator;
let links: AlipayAuthorizationLinkService;
let tokens: AlipayTokenService;
let close: () => Promise<void>;

beforeAll(async () => {
  sim = await startAlipaySimulator({ apps: [{ appId: APP, publicKey: vectors.keys.app.publicKeySpkiPem, redirectUris: [CALLBACK] }] });
  const moduleRef = await Test.createTestingModule({
    imports: [
      AlipayAuthModule.forRoot({
        appId: APP,
        privateKey: vectors.keys.app.privateKeyPkcs8Pem,
        alipayPublicKey: sim.alipayPublicKeyPem,
        gateway: sim.url,
        store: new InMemoryAlipayTokenStore(),
        refresh: { enabled: false },
        authorizationLink: { stateSecret: 'a-state-secret-of-at-least-32-characters!', redirectUri: CALLBACK },
      }),
    ],
  }).compile();
  await moduleRef.init();
  links = moduleRef.get(AlipayAuthorizationLinkService);
  tokens = moduleRef.get(AlipayTokenService);
  close = () => moduleRef.close();
});
afterAll(async () => {
  await close();
  await sim.close();
});

const get = (url: string) => fetch(url, { redirect: 'manual' });
const post = (url: string, form: Record<string, string>) =>
  fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
const bizDataOf = (url: string) => new URL(url).searchParams.get('bizData')!;
/** The radio values the page offers (the merchant's apps of the listed types). */
const offered = (html: string) => [...html.matchAll(/name="merchant_app" value="(\d+)"/g)].map((m) => m[1]);

describe('simulator task page', () => {
  it('PC page: lists one app per listed type; approving redirects with app_id, source, code and the state, which verifies and exchanges', async () => {
    const nonce = links.newNonce();
    const link = links.createLink({ nonce, flow: 'task', applicationTypes: ['TINYAPP', 'WEBAPP', 'PUBLICAPP'] });
    expect(link.url.startsWith(`${sim.url}${TASK_PAGE_PATH}?bizData=`)).toBe(true);
    const page = await get(link.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(APP);
    expect(html).toMatch(/TINYAPP[\s\S]*WEBAPP[\s\S]*PUBLICAPP/);
    const apps = offered(html);
    expect(apps).toHaveLength(3);

    const approved = await post(`${sim.url}${TASK_PAGE_PATH}`, { bizData: bizDataOf(link.url), merchant_app: apps[1], action: 'authorize' });
    expect(approved.status).toBe(302);
    const cb = new URL(approved.headers.get('location')!);
    expect(`${cb.origin}${cb.pathname}`).toBe(CALLBACK);
    expect([...cb.searchParams.keys()]).toEqual(['app_id', 'source', 'app_auth_code', 'state']);
    expect(cb.searchParams.get('app_id')).toBe(APP);
    expect(cb.searchParams.get('source')).toBe('alipay_app_auth');
    expect(cb.searchParams.get('state')).toBe(link.state);
    expect(links.verifyState(cb.searchParams.get('state'), nonce)).toBe(nonce);
    const [info] = await tokens.exchangeCode(cb.searchParams.get('app_auth_code')!);
    expect(info.authAppId).toBe(apps[1]);
  });

  it("phone: the QR's target (the launcher standing in for the Alipay app) renders the same task and approves the same way", async () => {
    const nonce = links.newNonce();
    const link = links.createLink({ nonce, flow: 'task' });
    expect(link.mobileUrl.startsWith(`${sim.url}${TASK_LAUNCH_PATH}?appId=2021003130652097&page=pages%2Fauthorize%2Findex%3FbizData%3D`)).toBe(true);
    const page = await get(link.mobileUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="opened-in-app"');
    expect(html).toContain('action="/platformapi/startapp"');
    const approved = await post(`${sim.url}${TASK_LAUNCH_PATH}`, {
      bizData: bizDataOf(link.url),
      auth_app_id: '2021004100000777',
      merchant_app: offered(html)[0],
      action: 'authorize',
    });
    const cb = new URL(approved.headers.get('location')!);
    expect(links.verifyState(cb.searchParams.get('state'), nonce)).toBe(nonce);
    // The typed id overrides the choice (a merchant app the test names).
    expect((await tokens.exchangeCode(cb.searchParams.get('app_auth_code')!))[0].authAppId).toBe('2021004100000777');
  });

  it('cancel mints nothing and offers the way back', async () => {
    const link = links.createLink({ nonce: links.newNonce(), flow: 'task' });
    const before = sim.controls.stats().exchanges;
    const res = await post(`${sim.url}${TASK_PAGE_PATH}`, { bizData: bizDataOf(link.url), merchant_app: '2021004100000778', action: 'cancel' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('id="cancelled"');
    expect(html).toContain('href="https://isv.example.com/"');
    expect(sim.controls.stats().exchanges).toBe(before);
  });

  it('refuses what Alipay refuses: a state that is not base64 or over 100 characters, unknown app, other redirect, ARAPP, wrong mini program', async () => {
    const good = JSON.parse(bizDataOf(links.createLink({ nonce: links.newNonce(), flow: 'task' }).url));
    const with_ = (patch: Record<string, unknown>) =>
      `${sim.url}${TASK_PAGE_PATH}?bizData=${encodeURIComponent(JSON.stringify({ ...good, agentOpParam: { ...good.agentOpParam, ...patch } }))}`;
    const refusals: Array<[string, RegExp]> = [
      [with_({ state: 'v1.mb1x2y.AAAAAAAAAAAAAAAAAAAAAA.' + 'A'.repeat(43) }), /state must be base64/],
      [with_({ state: 'A'.repeat(104) }), /at most 100 characters/],
      [with_({ isvAppId: '2021009999999999' }), /does not exist/],
      [with_({ redirectUri: 'https://evil.example.com/cb' }), /does not match/],
      [with_({ appTypes: ['ARAPP'] }), /appTypes must list/],
      [with_({ appTypes: [] }), /appTypes must list/],
      [`${sim.url}${TASK_PAGE_PATH}?bizData=${encodeURIComponent(JSON.stringify({ ...good, taskType: 'OTHER' }))}`, /Unsupported task/],
      [`${sim.url}${TASK_PAGE_PATH}?bizData=not-json`, /not JSON/],
      [
        `${sim.url}${TASK_LAUNCH_PATH}?appId=2018090561299510&page=${encodeURIComponent('pages/authorize/index?bizData=')}${encodeURIComponent(JSON.stringify(good))}`,
        /appId/,
      ],
    ];
    for (const [url, message] of refusals) {
      const res = await get(url);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    // The library's own state is accepted as is (standard base64, 76 characters).
    expect((await get(with_({}))).status).toBe(200);
  });
});
