/**
 * alipay-sdk is an optional peer: the library (AlipaySdkBridge included) never loads it. Here it fails to
 * load, as when not installed, and the bridge still works with any object shaped like the SDK.
 */
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';

jest.unstable_mockModule('alipay-sdk', () => {
  throw Object.assign(new Error("Cannot find module 'alipay-sdk'"), { code: 'MODULE_NOT_FOUND' });
});

describe('without alipay-sdk', () => {
  it('the package is really missing here, and the library and its bridge load and work without it', async () => {
    await expect(import('alipay-sdk')).rejects.toThrow(/Cannot find module 'alipay-sdk'/);
    const lib = await import('nestjs-alipay-auth');
    const testing = await import('nestjs-alipay-auth/testing');
    const app = await Test.createTestingModule({ imports: [testing.AlipayAuthTestingModule.forRoot()] }).compile();
    await app.init();
    try {
      const kit = app.get(testing.AlipayAuthTestingKit);
      const tokens = app.get(lib.AlipayTokenService);
      const [row] = await tokens.exchangeCode(kit.mintAuthCode());
      const calls: unknown[] = [];
      const sdkShaped = { exec: async (method: string, params?: Record<string, unknown>) => (calls.push([method, params]), { code: '10000', msg: 'Success' }) };
      const result = await new lib.AlipaySdkBridge(tokens, sdkShaped).exec(row.authAppId, 'alipay.trade.query', { bizContent: { out_trade_no: '1' } });
      expect(result).toEqual({ code: '10000', msg: 'Success' });
      expect(calls).toEqual([['alipay.trade.query', { bizContent: { out_trade_no: '1' }, appAuthToken: await tokens.getAppAuthToken(row.authAppId) }]]);
    } finally {
      await app.close();
    }
  });
});
