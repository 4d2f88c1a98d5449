/**
 * The library against both readings of how Alipay signs its refusals (protocol doc §10.3): the gateway's
 * own refusals come unsigned (both variants); business errors come signed (kind) or unsigned (strict,
 * `signErrors: false`). Either way a caller gets the same typed error, never a signature error.
 */
import { Test } from '@nestjs/testing';
import { AlipayApiError, AlipayAuthModule, AlipayAuthorizationRequiredError, AlipayOpenApiClient, AlipayTokenService } from 'nestjs-alipay-auth';
import { AlipayAuthTestingKit, InMemoryAlipayTokenStore, QUERY_PATH, TRADE_QUERY_PATH } from 'nestjs-alipay-auth/testing';

describe.each([
  ['kind (business errors signed)', true],
  ['strict (every error unsigned)', false],
])('the library against the simulator, %s', (_name, signErrors) => {
  let kit: AlipayAuthTestingKit;
  let tokens: AlipayTokenService;
  let client: AlipayOpenApiClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    kit = await AlipayAuthTestingKit.start({ simulator: { signErrors } });
    const moduleRef = await Test.createTestingModule({ imports: [AlipayAuthModule.forRoot(kit.moduleOptions())] }).compile();
    await moduleRef.init();
    tokens = moduleRef.get(AlipayTokenService);
    client = moduleRef.get(AlipayOpenApiClient);
    close = async () => {
      await moduleRef.close();
      await kit.close();
    };
  });
  afterAll(() => close());

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: unknown) => e,
    );

  it('a business refusal is the same AlipayApiError: an unknown code, a merchant call Alipay answers with a business code', async () => {
    const e = await failure(tokens.exchangeCode('0123456789abcdef0123456789abcdA01'));
    expect(e).toBeInstanceOf(AlipayApiError);
    expect([(e as AlipayApiError).status, (e as AlipayApiError).code]).toEqual([400, 'AUTH_CODE_NOT_EXIST']);
    const [row] = await tokens.exchangeCode(kit.mintAuthCode());
    const trade = await failure(client.request({ method: 'POST', path: TRADE_QUERY_PATH, body: { out_trade_no: '1' }, authAppId: row.authAppId }));
    expect((trade as AlipayApiError).code).toBe('ACQ.TRADE_NOT_EXIST');
  });

  it("the gateway's own unsigned refusals: a cancelled merchant's token is repaired or reported, never a signature error", async () => {
    const [row] = await tokens.exchangeCode(kit.mintAuthCode());
    await kit.cancel(row.authAppId);
    const e = await failure(client.request({ method: 'POST', path: TRADE_QUERY_PATH, body: { out_trade_no: '1' }, authAppId: row.authAppId }));
    expect(e).toBeInstanceOf(AlipayAuthorizationRequiredError);
    expect((await tokens.get(row.authAppId))!.status).toBe('cancelled');
  });

  it('a call the gateway cannot read (no Authorization) is 400 missing-timestamp, unsigned, read as an AlipayApiError', async () => {
    const res = await fetch(`${kit.simulator.url}${QUERY_PATH}?app_auth_token=x`);
    expect(res.status).toBe(400);
    expect(res.headers.get('alipay-signature')).toBeNull();
    expect((await res.json()).code).toBe('missing-timestamp');
    // Our own app id unknown at Alipay: 400 invalid-app-id, unsigned; the client raises the code.
    const stranger = await AlipayAuthTestingKit.start({ simulator: { signErrors } });
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [AlipayAuthModule.forRoot({ ...stranger.moduleOptions(), appId: '2021009999999999', store: new InMemoryAlipayTokenStore() })],
      }).compile();
      const e = await failure(moduleRef.get(AlipayOpenApiClient).request({ method: 'GET', path: QUERY_PATH, query: { app_auth_token: 'x' } }));
      expect(e).toBeInstanceOf(AlipayApiError);
      expect([(e as AlipayApiError).status, (e as AlipayApiError).code]).toEqual([400, 'invalid-app-id']);
      await moduleRef.close();
    } finally {
      await stranger.close();
    }
  });
});
