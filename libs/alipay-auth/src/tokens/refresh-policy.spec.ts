import { resolveAlipayAuthConfig } from '../alipay-auth.config';
import { vectors } from '../../../../test/fixtures/vectors';
import type { AlipayAuthorization } from '../storage/alipay-token-store';
import { AlipayApiError, AlipayNetworkError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import {
  backoffDelay,
  classifyRefreshFailure,
  CONFIGURATION_ERROR_CODES,
  GATEWAY_CONFIGURATION_CODES,
  isConfigurationError,
  isDue,
  isForeignCredentialError,
  UNCONFIRMED_CONFIGURATION_CODES,
} from './refresh-policy';
import { parseSeconds } from './alipay-token.types';

const DAY = 86_400_000;
const policy = (refresh = {}) =>
  resolveAlipayAuthConfig({
    appId: '2021004100000001',
    privateKey: vectors.keys.app.privateKeyPkcs8Pem,
    alipayPublicKey: vectors.keys.alipay.publicKeySpkiPem,
    refresh,
  }).refresh;
const row = (p: Partial<AlipayAuthorization>): AlipayAuthorization =>
  ({ expiresAt: null, refreshExpiresAt: null, tokenIssuedAt: new Date(0), ...p }) as AlipayAuthorization;

describe('refresh policy', () => {
  const now = 1000 * DAY;
  it('is due inside the refresh-ahead window of expires_at', () => {
    expect(isDue(row({ expiresAt: new Date(now + 31 * DAY) }), now, policy())).toBe(false);
    expect(isDue(row({ expiresAt: new Date(now + 29 * DAY) }), now, policy())).toBe(true);
  });
  it('is due well before the refresh token itself expires, even with no expires_at', () => {
    expect(isDue(row({ refreshExpiresAt: new Date(now + 40 * DAY) }), now, policy())).toBe(false);
    expect(isDue(row({ refreshExpiresAt: new Date(now + 20 * DAY) }), now, policy())).toBe(true);
  });
  it('rotates tokens older than maxTokenAgeMs when set', () => {
    const r = row({ tokenIssuedAt: new Date(now - 100 * DAY) });
    expect(isDue(r, now, policy())).toBe(false);
    expect(isDue(r, now, policy({ maxTokenAgeMs: 90 * DAY }))).toBe(true);
  });
  it('backs off exponentially, capped, with bounded jitter', () => {
    const p = policy({ backoffBaseMs: 1000, backoffMaxMs: 60_000 });
    expect(backoffDelay(1, p, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, p, () => 0.5)).toBe(4000);
    expect(backoffDelay(30, p, () => 0.5)).toBe(60_000);
    expect(backoffDelay(1, p, () => 0)).toBe(800);
    expect(backoffDelay(1, p, () => 1)).toBe(1200);
  });
  it('parses expires_in given as a string or a number', () => {
    expect(parseSeconds('31536000')).toBe(31536000);
    expect(parseSeconds(32140800)).toBe(32140800);
    expect(parseSeconds('')).toBeNull();
    expect(parseSeconds('soon')).toBeNull();
    expect(parseSeconds(undefined)).toBeNull();
  });
});

describe('failure classification', () => {
  const api = (code: string, status = 400) => new AlipayApiError({ status, code, message: 'refused' });

  it.each(['APP_ID_NOT_CONSISTENT', 'AUTH_TOKEN_NOT_CONSISTENT', 'isv.APP_ID_NOT_CONSISTENT', 'aop.AUTH_TOKEN_NOT_CONSISTENT'])(
    "%s: the row holds another app's credential, not an app-wide configuration error",
    (code) => {
      expect(classifyRefreshFailure(api(code))).toBe('foreign-credential');
      expect(isForeignCredentialError(api(code))).toBe(true);
      expect(isConfigurationError(api(code))).toBe(false);
    },
  );

  // Every code of the protocol notes' §10.3, §9.3 and the token calls' APP_NOT_ISV, listed here on purpose.
  it.each([
    'APP_NOT_ISV',
    'missing-timestamp',
    'missing-app-id',
    'invalid-app-id',
    'invalid-signature',
    'invalid-signature-type',
    'missing-signature-config',
    'unsupported-expired-app-key-sign',
    'app-key-security-risk',
    'app-cert-expired',
    'alipay-cert-not-exist',
    'missing-alipay-root-cert-sn',
    'missing-alipay-cert-sn',
    'illegal-client-ip',
    'invalid-app-state',
    'forbidden-api',
    'app-api-punished',
    'missing-encrypt-key',
    'decryption-error',
    'decryption-error-aes',
    'invalid-encrypt-type',
    'insufficient-isv-permissions',
    ...UNCONFIRMED_CONFIGURATION_CODES,
  ])('%s concerns the whole app: configuration, also with a v2 prefix', (code) => {
    for (const c of [code, `isv.${code}`, `aop.${code}`]) {
      expect(classifyRefreshFailure(api(c))).toBe('configuration');
      expect(isConfigurationError(api(c))).toBe(true);
      expect(isForeignCredentialError(api(c))).toBe(false);
    }
  });

  it('a missing or malformed Authorization (the live gateway answers HTTP 400 missing-timestamp) is no transient failure', () => {
    expect(classifyRefreshFailure(api('missing-timestamp', 400))).toBe('configuration');
  });

  it('keeps the exported set in step with the named lists', () => {
    for (const code of GATEWAY_CONFIGURATION_CODES) expect(CONFIGURATION_ERROR_CODES.has(code)).toBe(true);
    expect(CONFIGURATION_ERROR_CODES.has('APP_ID_NOT_CONSISTENT')).toBe(false);
    expect(CONFIGURATION_ERROR_CODES.has('AUTH_TOKEN_NOT_CONSISTENT')).toBe(false);
  });

  it('merchant-level codes keep their meaning', () => {
    for (const code of ['REFRESH_TOKEN_NOT_VALID', 'isv.REFRESH_TOKEN_TIME_OUT', 'AUTH_TOKEN_NOT_FOUND'])
      expect(classifyRefreshFailure(api(code))).toBe('dead-refresh-token');
    for (const code of ['invalid-app-auth-token', 'aop.invalid-app-auth-token-no-api', 'GRANT_TYPE_INVALID', 'app-auth-invoke-limit']) {
      expect(classifyRefreshFailure(api(code))).toBe('transient');
      expect(isConfigurationError(api(code))).toBe(false);
    }
    expect(classifyRefreshFailure(api('SYSTEM_ERROR', 500))).toBe('ambiguous');
    expect(classifyRefreshFailure(new AlipayNetworkError('timeout', 'timeout', true))).toBe('ambiguous');
    expect(classifyRefreshFailure(new AlipayNetworkError('connect', 'refused', false))).toBe('transient');
    expect(classifyRefreshFailure(new AlipaySignatureError('response-signature-verify-error', 'bad'))).toBe('ambiguous');
  });

  it('only Alipay answers are classified by code', () => {
    expect(isConfigurationError(Object.assign(new Error('x'), { code: 'invalid-signature' }))).toBe(false);
    expect(isForeignCredentialError({ code: 'APP_ID_NOT_CONSISTENT' })).toBe(false);
  });
});
