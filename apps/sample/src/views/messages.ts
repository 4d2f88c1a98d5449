import type { AlipayAuthorizationState } from 'nestjs-alipay-auth';
import type { MerchantLocale } from './merchant-text';

/** A sentence in both languages of the operators' page: one missing is a compile error. */
export type Both = Record<MerchantLocale, string>;

const TRY_AGAIN_UNKNOWN: Both = {
  en: 'Alipay answered with an internal error; the result is unknown, so the stored tokens will be checked before the next try.',
  'zh-CN': '支付宝返回内部错误，结果未知：下次重试前会先核验已保存的令牌。',
};
const REFRESH_REFUSED: Both = {
  en: 'Alipay no longer accepts the refresh token: the merchant must authorize again.',
  'zh-CN': '支付宝不再接受刷新令牌：商户须重新授权。',
};
const OTHER_ISV: Both = { en: 'This authorization was granted to another ISV app, not to ours.', 'zh-CN': '此授权给的是其他服务商应用，不是我们的应用。' };

/**
 * The one place where the operators' page puts a code into words: a row's detail and an action's notice
 * both come from here, so they never disagree. Codes are Alipay's (with or without the v2 `isv.`/`aop.`
 * namespace), the library's error types, and the library's own failure codes (`network-*`, `row-unreadable`).
 */
const CODES: Record<string, Both> = {
  // Alipay said something went wrong on its side, or did not say what.
  'unknow-error': TRY_AGAIN_UNKNOWN,
  'system-error': TRY_AGAIN_UNKNOWN,
  'service-unavailable': { en: 'Alipay was unavailable; it will be tried again after a pause.', 'zh-CN': '支付宝暂时不可用，稍后会自动重试。' },
  'rate-limit': { en: 'Alipay asked us to slow down; it will be tried again after a pause.', 'zh-CN': '支付宝要求降低调用频率，稍后会自动重试。' },
  'app-call-limited': {
    en: 'Alipay is limiting our calls for now; it will be tried again after a pause.',
    'zh-CN': '支付宝暂时限制了我们的调用，稍后会自动重试。',
  },
  // The refresh token is dead: only the merchant can fix it.
  REFRESH_TOKEN_NOT_VALID: REFRESH_REFUSED,
  REFRESH_TOKEN_NOT_EXIST: {
    en: 'Alipay no longer knows the refresh token: the merchant must authorize again.',
    'zh-CN': '支付宝已找不到此刷新令牌：商户须重新授权。',
  },
  REFRESH_TOKEN_TIME_OUT: { en: 'The refresh token has expired: the merchant must authorize again.', 'zh-CN': '刷新令牌已过期：商户须重新授权。' },
  AUTH_TOKEN_NOT_FOUND: {
    en: 'Alipay no longer knows this authorization: the merchant must authorize again.',
    'zh-CN': '支付宝已找不到此授权：商户须重新授权。',
  },
  'invalid-app-refresh-token': REFRESH_REFUSED,
  // This row's credential was granted to another ISV app.
  APP_ID_NOT_CONSISTENT: OTHER_ISV,
  AUTH_TOKEN_NOT_CONSISTENT: OTHER_ISV,
  APP_NOT_ISV: {
    en: 'Our Alipay app is not a third-party (ISV) app: check the app id and its type on Alipay Open Platform.',
    'zh-CN': '我们的支付宝应用不是第三方（服务商）应用：请在支付宝开放平台检查应用 ID 和应用类型。',
  },
  'invalid-signature': {
    en: 'Alipay could not verify our signature: check the app private key and the key uploaded to Alipay.',
    'zh-CN': '支付宝无法验证我们的签名：请检查应用私钥和上传到支付宝的公钥。',
  },
  'insufficient-isv-permissions': {
    en: 'Our app lacks the permission for this call on Alipay Open Platform.',
    'zh-CN': '我们的应用在支付宝开放平台上没有此接口的权限。',
  },
  // The library's own codes.
  'network-timeout': {
    en: 'Alipay did not answer in time; the result is unknown, so the stored tokens will be checked before the next try.',
    'zh-CN': '支付宝未及时响应，结果未知：下次重试前会先核验已保存的令牌。',
  },
  'network-reset': {
    en: 'The connection to Alipay broke after the request was sent; the stored tokens will be checked before the next try.',
    'zh-CN': '请求发出后与支付宝的连接中断：下次重试前会先核验已保存的令牌。',
  },
  'network-unreachable': {
    en: 'Alipay could not be reached; nothing was sent, and it will be tried again after a pause.',
    'zh-CN': '无法连接支付宝，请求未发出，稍后会自动重试。',
  },
  'row-unreadable': {
    en: 'The stored tokens cannot be decrypted: restore the encryption key they were written with, then run npm run reencrypt.',
    'zh-CN': '已保存的令牌无法解密：请恢复写入时使用的加密密钥，然后运行 npm run reencrypt。',
  },
  // Error types of the library (alipayAuthErrorResponse).
  'authorization-required': { en: 'The merchant must authorize again.', 'zh-CN': '商户须重新授权。' },
  'authorization-state': {
    en: 'The merchant is not served (revoked or cancelled): nothing was sent to Alipay.',
    'zh-CN': '此商户已停止服务或已取消授权，未向支付宝发送请求。',
  },
  'token-unreadable': {
    en: 'The stored tokens cannot be decrypted: restore the encryption key they were written with.',
    'zh-CN': '已保存的令牌无法解密：请恢复写入时使用的加密密钥。',
  },
  'alipay-error': { en: 'Alipay refused the call.', 'zh-CN': '支付宝拒绝了此次调用。' },
  'alipay-signature': {
    en: "Alipay's answer did not verify: check the Alipay public key or certificates.",
    'zh-CN': '支付宝的响应验签失败：请检查支付宝公钥或证书。',
  },
  'alipay-timeout': { en: 'Alipay did not answer in time; the result is unknown.', 'zh-CN': '支付宝未及时响应，结果未知。' },
  'alipay-unreachable': { en: 'Alipay could not be reached.', 'zh-CN': '无法连接支付宝。' },
  'store-unavailable': { en: 'The database did not answer; nothing was changed.', 'zh-CN': '数据库无响应，未做任何更改。' },
  configuration: { en: 'The app is misconfigured for this call: see the log line.', 'zh-CN': '应用配置有误，无法完成此调用：请查看日志。' },
};

/** The sentence of a known code, or undefined. */
export function knownCode(code: string | null | undefined, locale: MerchantLocale = 'en'): string | undefined {
  if (!code) return undefined;
  return (CODES[code] ?? CODES[code.replace(/^(?:isv|aop|isp)\./i, '')])?.[locale];
}

const NO_CODE: Both = { en: 'It failed without a code.', 'zh-CN': '失败，但没有错误码。' };
const UNKNOWN_CODE: Both = { en: 'Alipay refused it; it will be tried again after a pause.', 'zh-CN': '支付宝拒绝了请求，稍后会自动重试。' };

/** One plain sentence for a code, or a generic one (callers show the code beside it). */
export function explainCode(code: string | null | undefined, locale: MerchantLocale = 'en'): string {
  if (!code) return NO_CODE[locale];
  return knownCode(code, locale) ?? UNKNOWN_CODE[locale];
}

/** What each state means, in one sentence (the counters' and the badges' titles). */
const STATES: Record<AlipayAuthorizationState, Both> = {
  healthy: { en: 'Tokens are served and refreshed on schedule.', 'zh-CN': '令牌正常提供，并按计划刷新。' },
  failing: {
    en: 'Refreshes are failing; tokens are still served until they expire, and the refresh is retried after a pause.',
    'zh-CN': '刷新失败：令牌到期前仍照常提供，稍后会自动重试刷新。',
  },
  verifying: {
    en: 'A refresh ended without a clear answer; the stored tokens are checked with Alipay before anything else.',
    'zh-CN': '上次刷新没有明确结果：会先向支付宝核验已保存的令牌。',
  },
  unreadable: {
    en: 'The stored tokens cannot be decrypted; this merchant is not served until the key is restored.',
    'zh-CN': '已保存的令牌无法解密：恢复密钥之前不为此商户提供服务。',
  },
  reauthorization_required: {
    en: 'Alipay refused the refresh token: send the merchant a new authorization link.',
    'zh-CN': '支付宝拒绝了刷新令牌：请给商户发送新的授权链接。',
  },
  revoked: { en: 'We stopped serving this merchant.', 'zh-CN': '我们已停止为此商户提供服务。' },
  cancelled: { en: 'The merchant cancelled the authorization in Alipay.', 'zh-CN': '商户已在支付宝中取消授权。' },
};

export function stateSentence(state: AlipayAuthorizationState, locale: MerchantLocale = 'en'): string {
  return STATES[state][locale];
}

/** What "check with Alipay" found, in one sentence (`outcome`: the library's AlipayStatusCheck outcome). */
const CHECK_OUTCOMES: Record<string, Both> = {
  busy: { en: 'Another instance is working on this merchant right now; nothing was checked.', 'zh-CN': '另一个实例正在处理此商户，本次未核验。' },
  verified: { en: 'Alipay confirms the stored token is valid.', 'zh-CN': '支付宝确认已保存的令牌有效。' },
  refreshed: { en: 'Alipay refused the stored token; it was repaired with the refresh token.', 'zh-CN': '支付宝拒绝了已保存的令牌，已用刷新令牌修复。' },
  cancelled: {
    en: 'Alipay says the merchant cancelled the authorization; it is marked cancelled.',
    'zh-CN': '支付宝表示商户已取消授权，已标记为已取消。',
  },
  reauthorization_required: {
    en: 'Alipay refused the token and the refresh token: the merchant must authorize again.',
    'zh-CN': '支付宝拒绝了令牌和刷新令牌：商户须重新授权。',
  },
  'moved-on': {
    en: 'The merchant changed meanwhile (authorized again, or refreshed elsewhere); it was left as it is.',
    'zh-CN': '此商户在此期间已有变化（重新授权或在别处刷新），保持不变。',
  },
  failed: {
    en: 'Alipay refused the stored token and the repair failed; it will be tried again after a pause.',
    'zh-CN': '支付宝拒绝了已保存的令牌，修复失败，稍后会自动重试。',
  },
  ambiguous: { en: 'The repair ended without a clear answer; the stored tokens will be checked again.', 'zh-CN': '修复没有明确结果，会再次核验已保存的令牌。' },
  'not-sent': { en: 'Nothing was sent to Alipay; it will be tried again after a pause.', 'zh-CN': '未向支付宝发送请求，稍后会自动重试。' },
  configuration_error: { en: 'The app is misconfigured for this call: see the log line.', 'zh-CN': '应用配置有误，无法完成此调用：请查看日志。' },
};

export function explainCheck(outcome: string, locale: MerchantLocale = 'en'): string {
  return CHECK_OUTCOMES[outcome]?.[locale] ?? (locale === 'en' ? `Alipay was asked; the outcome is ${outcome}.` : `已询问支付宝，结果为 ${outcome}。`);
}

/** Every sentence of this file, for the spec that checks both languages are there and the Chinese has no English left. */
export const ALL_SENTENCES: Both[] = [...Object.values(CODES), NO_CODE, UNKNOWN_CODE, ...Object.values(STATES), ...Object.values(CHECK_OUTCOMES)];
