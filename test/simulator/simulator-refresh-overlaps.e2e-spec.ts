/**
 * The simulator's racing-refresh measurement (stats().refreshOverlaps): a refresh for a merchant that
 * arrives while another refresh for the same merchant is still being handled. The soak's third zero.
 */
import { AlipaySdk } from 'alipay-sdk';
import { AlipaySimulator, startAlipaySimulator, TOKEN_PATH } from 'nestjs-alipay-auth-simulator';
import { vectors } from '../fixtures/vectors';

const APP = '2021004100000001';

describe('simulator: racing refreshes are counted', () => {
  let sim: AlipaySimulator;
  const sdk = () =>
    new AlipaySdk({
      appId: APP,
      privateKey: vectors.keys.app.privateKeyPkcs8Pem,
      alipayPublicKey: sim.alipayPublicKeyPem,
      endpoint: sim.url,
      keyType: 'PKCS8',
    } as never);
  const refresh = (token: string) => sdk().curl<any>('POST', TOKEN_PATH, { body: { grant_type: 'refresh_token', refresh_token: token } });

  beforeAll(async () => {
    sim = await startAlipaySimulator({ apps: [{ appId: APP, publicKey: vectors.keys.app.publicKeySpkiPem }] });
  });
  afterAll(() => sim.close());

  async function authorize(authAppId: string): Promise<string> {
    const { app_auth_code } = sim.controls.authorize(APP, { authAppId });
    const res = await sdk().curl<any>('POST', TOKEN_PATH, { body: { grant_type: 'authorization_code', code: app_auth_code } });
    return res.data.app_refresh_token;
  }

  it('counts a refresh arriving while another for the same merchant is held, not sequential ones or other merchants', async () => {
    const a = await authorize('2021000000007001');
    const b = await authorize('2021000000007002');
    const first = (await refresh(a)).data.app_refresh_token;
    await refresh(first); // sequential: no overlap
    expect(sim.controls.stats()).toMatchObject({ refreshOverlaps: 0, refreshOverlapsByMerchant: {} });

    sim.controls.addFault({ route: TOKEN_PATH, kind: 'latency', latencyMs: 300, grantType: 'refresh_token', count: 1 });
    const held = refresh(first); // held 300 ms at the simulator
    await new Promise((r) => setTimeout(r, 100));
    await Promise.all([refresh(first), refresh(b), held]); // the superseded token still refreshes (refreshGraceMs Infinity)
    expect(sim.controls.stats()).toMatchObject({ refreshOverlaps: 1, refreshOverlapsByMerchant: { '2021000000007001': 1 } });

    sim.controls.reset();
    expect(sim.controls.stats()).toMatchObject({ refreshOverlaps: 0, refreshOverlapsByMerchant: {} });
  });
});
