/**
 * ISVs on the official SDK (protocol doc §10.4): `AlipaySdkBridge` hands `alipay-sdk`'s `exec()` and
 * `curl()` this library's tokens and reports refusals back. The real SDK runs against a v2 stand-in that
 * answers with recorded 20001 bodies, deciding from the testing kit's simulator whether the token is
 * valid, expired or lacks the API; `curl()` talks to the simulator itself.
 */
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { AlipayRequestError, AlipaySdk } from 'alipay-sdk';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AlipayApiError, AlipayAuthorizationRequiredError, AlipayOpenApiClient, AlipaySdkBridge, AlipayTokenService } from 'nestjs-alipay-auth';
import { AlipayAuthTestingKit, AlipayAuthTestingModule, QUERY_PATH, TRADE_QUERY_PATH } from 'nestjs-alipay-auth/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const recorded: Record<'invalid-app-auth-token' | 'app-auth-token-time-out' | 'invalid-app-auth-token-no-api' | 'success', string> = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/alipay-v2-token-refusals.json'), 'utf8'),
);

const HOUR = 3600_000;
const CST = 8 * HOUR;

let kit: AlipayAuthTestingKit;
let tokens: AlipayTokenService;
let client: AlipayOpenApiClient;
let close: () => Promise<void>;
let v2: { server: Server; url: string; seen: string[] };

/** gateway.do as far as the token goes: the simulator's token query says valid, expired, refused, or not granted. */
async function startV2StandIn() {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://v2');
    const token = url.searchParams.get('app_auth_token') ?? '';
    const method = url.searchParams.get('method') ?? '';
    seen.push(token);
    // The recorded bodies answer alipay.trade.query; Alipay names the wrapper after the method called.
    const answer = (body: string) =>
      res
        .writeHead(200, { 'content-type': 'text/html;charset=utf-8' })
        .end(body.replace('alipay_trade_query_response', `${method.replaceAll('.', '_')}_response`));
    client.request<{ status: string; auth_end: string; auth_methods: string[] }>({ method: 'GET', path: QUERY_PATH, query: { app_auth_token: token } }).then(
      (q) => {
        const expired = kit.simulator.controls.now() >= Date.parse(`${q.auth_end.replace(' ', 'T')}Z`) - CST;
        if (q.status !== 'valid') answer(expired ? recorded['app-auth-token-time-out'] : recorded['invalid-app-auth-token']);
        else answer(q.auth_methods.includes(method) ? recorded.success : recorded['invalid-app-auth-token-no-api']);
      },
      (e: unknown) => (e instanceof AlipayApiError ? answer(recorded['invalid-app-auth-token']) : res.writeHead(500).end()),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.do`, seen };
}

function sdk(extra: Record<string, unknown> = {}): AlipaySdk {
  const o = kit.moduleOptions();
  return new AlipaySdk({
    appId: o.appId,
    privateKey: o.privateKey!,
    keyType: 'PKCS8',
    alipayPublicKey: kit.simulator.alipayPublicKeyPem,
    gateway: v2.url,
    endpoint: kit.simulator.url,
    ...extra,
  } as never);
}

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      AlipayAuthTestingModule.forRoot({
        // Tokens live an hour at Alipay; the library refreshes only at expiry, so a token Alipay let expire
        // (the simulator's clock moved alone) is one the library still believes in.
        simulator: { tokenTtlSec: 3600, timestampWindowMs: Infinity },
        options: { refresh: { enabled: false, refreshAheadMs: 0 }, cacheTtlMs: 0 },
      }),
    ],
  }).compile();
  await moduleRef.init();
  kit = moduleRef.get(AlipayAuthTestingKit);
  tokens = moduleRef.get(AlipayTokenService);
  client = moduleRef.get(AlipayOpenApiClient);
  close = () => moduleRef.close();
  v2 = await startV2StandIn();
});
afterAll(async () => {
  await new Promise<void>((r) => v2.server.close(() => r()));
  await close();
});
beforeEach(() => {
  v2.seen.length = 0;
  jest.restoreAllMocks();
});

async function merchant(id: string): Promise<string> {
  await tokens.exchangeCode(kit.mintAuthCode({ authAppId: id, authMethods: ['alipay.trade.query'] }));
  return tokens.getAppAuthToken(id);
}

describe('AlipaySdkBridge with the official SDK', () => {
  it('exec(): a token Alipay let expire comes back as 20001 aop.app-auth-token-time-out; it is reported, repaired, and the call resent once', async () => {
    const id = '2021004100000501';
    const before = await merchant(id);
    const bridge = new AlipaySdkBridge(tokens, sdk());
    expect(await bridge.exec(id, 'alipay.trade.query', { bizContent: { out_trade_no: '6823789339978248' } })).toMatchObject({ code: '10000' });
    expect(v2.seen).toEqual([before]);

    kit.simulator.controls.advanceClock(HOUR + 1000); // Alipay's clock only
    const refused = jest.spyOn(tokens, 'onTokenRefused');
    const refreshes = kit.simulator.controls.stats().refreshesByMerchant[id] ?? 0;
    const result = await bridge.exec<{ code: string; tradeStatus: string }>(id, 'alipay.trade.query', { bizContent: { out_trade_no: '6823789339978248' } });
    expect(result).toMatchObject({ code: '10000', tradeStatus: 'TRADE_SUCCESS' });
    expect(refused).toHaveBeenCalledWith(id, before);
    expect(kit.simulator.controls.stats().refreshesByMerchant[id]).toBe(refreshes + 1);
    const after = await tokens.getAppAuthToken(id);
    expect(after).not.toBe(before);
    expect(v2.seen.slice(1)).toEqual([before, after]);
  });

  it('exec(): aop.invalid-app-auth-token-no-api is passed through, not reported (a new token would not help)', async () => {
    const id = '2021004100000502';
    const token = await merchant(id);
    const refused = jest.spyOn(tokens, 'onTokenRefused');
    const result = await new AlipaySdkBridge(tokens, sdk()).exec(id, 'alipay.marketing.campaign.discount.budget.query');
    expect(result).toMatchObject({ code: '20001', subCode: 'aop.invalid-app-auth-token-no-api' });
    expect(refused).not.toHaveBeenCalled();
    expect(v2.seen).toEqual([token]);
    expect(kit.simulator.controls.stats().refreshesByMerchant[id]).toBeUndefined();
  });

  it('exec() with camelcase: false reads sub_code the same way', async () => {
    const id = '2021004100000503';
    const before = await merchant(id);
    await kit.simulator.controls.cancelAuthorization(kit.appId, id); // refused, and nothing can repair it
    const refused = jest.spyOn(tokens, 'onTokenRefused');
    const call = new AlipaySdkBridge(tokens, sdk({ camelcase: false })).exec(id, 'alipay.trade.query');
    await expect(call).rejects.toBeInstanceOf(AlipayAuthorizationRequiredError);
    expect(refused).toHaveBeenCalledWith(id, before);
    expect(v2.seen).toEqual([before]);
    expect((await tokens.get(id))!.status).toBe('cancelled');
  });

  it('curl() (v3): the thrown app-auth-token-time-out is reported and repaired; the resent call meets the business answer', async () => {
    const id = '2021004100000504';
    const before = await merchant(id);
    kit.simulator.controls.advanceClock(HOUR + 1000);
    const refused = jest.spyOn(tokens, 'onTokenRefused');
    const call = new AlipaySdkBridge(tokens, sdk()).curl(id, 'POST', TRADE_QUERY_PATH, { body: { out_trade_no: '6823789339978248' } });
    const e = await call.catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AlipayRequestError);
    expect((e as AlipayRequestError).code).toBe('ACQ.TRADE_NOT_EXIST');
    expect(refused).toHaveBeenCalledWith(id, before);
    expect(await tokens.getAppAuthToken(id)).not.toBe(before);
  });

  it('refuses a token passed in by hand: the bridge sets it', () => {
    const bridge = new AlipaySdkBridge(tokens, sdk());
    expect(() => bridge.exec('2021004100000505', 'alipay.trade.query', { appAuthToken: 'x' })).toThrow('"appAuthToken"');
  });
});
