import { alipaySdkTokenVerdict } from './alipay-sdk-bridge';

class FakeRequestError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

describe('alipaySdkTokenVerdict', () => {
  it('reads exec() results: 20001 with aop. sub-codes, camelCase or snake_case', () => {
    expect(alipaySdkTokenVerdict({ code: '20001', subCode: 'aop.invalid-app-auth-token' })).toBe('refused');
    expect(alipaySdkTokenVerdict({ code: '20001', sub_code: 'aop.app-auth-token-time-out' })).toBe('refused');
    expect(alipaySdkTokenVerdict({ code: '20001', subCode: 'aop.invalid-app-auth-token-no-api' })).toBe('api-not-granted');
    // A user's OAuth token (auth_token), not the merchant's app token.
    expect(alipaySdkTokenVerdict({ code: '20001', subCode: 'aop.invalid-auth-token' })).toBeNull();
    expect(alipaySdkTokenVerdict({ code: '10000', msg: 'Success' })).toBeNull();
    expect(alipaySdkTokenVerdict({ code: '40004', subCode: 'aop.invalid-app-auth-token' })).toBeNull();
  });

  it('reads curl() errors by their v3 code; plain objects with a code are not errors', () => {
    expect(alipaySdkTokenVerdict(new FakeRequestError('invalid-app-auth-token'))).toBe('refused');
    expect(alipaySdkTokenVerdict(new FakeRequestError('app-auth-token-time-out'))).toBe('refused');
    expect(alipaySdkTokenVerdict(new FakeRequestError('invalid-app-auth-token-no-api'))).toBe('api-not-granted');
    expect(alipaySdkTokenVerdict(new FakeRequestError('ACQ.TRADE_NOT_EXIST'))).toBeNull();
    expect(alipaySdkTokenVerdict({ code: 'invalid-app-auth-token' })).toBeNull();
    for (const nothing of [undefined, null, 'invalid-app-auth-token', 20001]) expect(alipaySdkTokenVerdict(nothing)).toBeNull();
  });
});
