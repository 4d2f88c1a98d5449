import { ALIPAY_AUTHORIZATION_STATES } from 'nestjs-alipay-auth';
import { explainCheck, explainCode, knownCode, stateSentence } from './messages';

describe('messages: one sentence per code and state', () => {
  it('says every state in a sentence', () => {
    for (const state of ALIPAY_AUTHORIZATION_STATES) {
      expect(stateSentence(state)).toMatch(/^[A-Z].+\.$/);
      expect(stateSentence(state, 'zh-CN')).toMatch(/^[^A-Za-z].+。$/);
    }
  });

  it("reads Alipay's codes with or without their v2 namespace; an unknown code gets a generic sentence", () => {
    expect(explainCode('isp.unknow-error')).toBe(explainCode('unknow-error'));
    expect(explainCode('aop.invalid-signature')).toContain('signature');
    expect(knownCode('REFRESH_TOKEN_NOT_EXIST')).toContain('authorize again');
    expect(knownCode('Alipay refused the refresh token (REFRESH_TOKEN_NOT_EXIST)')).toBeUndefined();
    expect(explainCode('SOMETHING_NEW')).toBe('Alipay refused it; it will be tried again after a pause.');
    expect(explainCode(null)).toBe('It failed without a code.');
    expect(explainCode('isp.unknow-error', 'zh-CN')).toBe(explainCode('unknow-error', 'zh-CN'));
    expect(explainCode('SOMETHING_NEW', 'zh-CN')).toBe('支付宝拒绝了请求，稍后会自动重试。');
  });

  it('says what a check with Alipay found', () => {
    expect(explainCheck('verified')).toBe('Alipay confirms the stored token is valid.');
    expect(explainCheck('cancelled')).toContain('marked cancelled');
    expect(explainCheck('whatever')).toContain('whatever');
  });
});
