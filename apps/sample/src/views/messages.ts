import type { AlipayAuthorizationState } from 'nestjs-alipay-auth';

/**
 * The one place where the operators' page puts a code into words: a row's detail and an action's notice
 * both come from here, so they never disagree. Codes are Alipay's (with or without the v2 `isv.`/`aop.`
 * namespace), the library's error types, and the library's own failure codes (`network-*`, `row-unreadable`).
 */
const CODES: Record<string, string> = {
  // Alipay said something went wrong on its side, or did not say what.
  'unknow-error': 'Alipay answered with an internal error; the result is unknown, so the stored tokens will be checked before the next try.',
  'system-error': 'Alipay answered with an internal error; the result is unknown, so the stored tokens will be checked before the next try.',
  'service-unavailable': 'Alipay was unavailable; it will be tried again after a pause.',
  'rate-limit': 'Alipay asked us to slow down; it will be tried again after a pause.',
  'app-call-limited': 'Alipay is limiting our calls for now; it will be tried again after a pause.',
  // The refresh token is dead: only the merchant can fix it.
  REFRESH_TOKEN_NOT_VALID: 'Alipay no longer accepts the refresh token: the merchant must authorize again.',
  REFRESH_TOKEN_NOT_EXIST: 'Alipay no longer knows the refresh token: the merchant must authorize again.',
  REFRESH_TOKEN_TIME_OUT: 'The refresh token has expired: the merchant must authorize again.',
  AUTH_TOKEN_NOT_FOUND: 'Alipay no longer knows this authorization: the merchant must authorize again.',
  'invalid-app-refresh-token': 'Alipay no longer accepts the refresh token: the merchant must authorize again.',
  // This row's credential was granted to another ISV app.
  APP_ID_NOT_CONSISTENT: 'This authorization was granted to another ISV app, not to ours.',
  AUTH_TOKEN_NOT_CONSISTENT: 'This authorization was granted to another ISV app, not to ours.',
  APP_NOT_ISV: 'Our Alipay app is not a third-party (ISV) app: check the app id and its type on Alipay Open Platform.',
  'invalid-signature': 'Alipay could not verify our signature: check the app private key and the key uploaded to Alipay.',
  'insufficient-isv-permissions': 'Our app lacks the permission for this call on Alipay Open Platform.',
  // The library's own codes.
  'network-timeout': 'Alipay did not answer in time; the result is unknown, so the stored tokens will be checked before the next try.',
  'network-reset': 'The connection to Alipay broke after the request was sent; the stored tokens will be checked before the next try.',
  'network-unreachable': 'Alipay could not be reached; nothing was sent, and it will be tried again after a pause.',
  'row-unreadable': 'The stored tokens cannot be decrypted: restore the encryption key they were written with, then run npm run reencrypt.',
  // Error types of the library (alipayAuthErrorResponse).
  'authorization-required': 'The merchant must authorize again.',
  'authorization-state': 'The merchant is not served (revoked or cancelled): nothing was sent to Alipay.',
  'token-unreadable': 'The stored tokens cannot be decrypted: restore the encryption key they were written with.',
  'alipay-error': 'Alipay refused the call.',
  'alipay-signature': "Alipay's answer did not verify: check the Alipay public key or certificates.",
  'alipay-timeout': 'Alipay did not answer in time; the result is unknown.',
  'alipay-unreachable': 'Alipay could not be reached.',
  'store-unavailable': 'The database did not answer; nothing was changed.',
  configuration: 'The app is misconfigured for this call: see the log line.',
};

/** The sentence of a known code, or undefined. */
export function knownCode(code: string | null | undefined): string | undefined {
  if (!code) return undefined;
  return CODES[code] ?? CODES[code.replace(/^(?:isv|aop|isp)\./i, '')];
}

/** One plain sentence for a code, or a generic one (callers show the code beside it). */
export function explainCode(code: string | null | undefined): string {
  if (!code) return 'It failed without a code.';
  return knownCode(code) ?? 'Alipay refused it; it will be tried again after a pause.';
}

/** What each state means, in one sentence (the counters' and the badges' titles). */
export const STATE_SENTENCES: Record<AlipayAuthorizationState, string> = {
  healthy: 'Tokens are served and refreshed on schedule.',
  failing: 'Refreshes are failing; tokens are still served until they expire, and the refresh is retried after a pause.',
  verifying: 'A refresh ended without a clear answer; the stored tokens are checked with Alipay before anything else.',
  unreadable: 'The stored tokens cannot be decrypted; this merchant is not served until the key is restored.',
  reauthorization_required: 'Alipay refused the refresh token: send the merchant a new authorization link.',
  revoked: 'We stopped serving this merchant.',
  cancelled: 'The merchant cancelled the authorization in Alipay.',
};

/** What "check with Alipay" found, in one sentence (`outcome`: the library's AlipayStatusCheck outcome). */
const CHECK_OUTCOMES: Record<string, string> = {
  busy: 'Another instance is working on this merchant right now; nothing was checked.',
  verified: 'Alipay confirms the stored token is valid.',
  refreshed: 'Alipay refused the stored token; it was repaired with the refresh token.',
  cancelled: 'Alipay says the merchant cancelled the authorization; it is marked cancelled.',
  reauthorization_required: 'Alipay refused the token and the refresh token: the merchant must authorize again.',
  'moved-on': 'The merchant changed meanwhile (authorized again, or refreshed elsewhere); it was left as it is.',
  failed: 'Alipay refused the stored token and the repair failed; it will be tried again after a pause.',
  ambiguous: 'The repair ended without a clear answer; the stored tokens will be checked again.',
  'not-sent': 'Nothing was sent to Alipay; it will be tried again after a pause.',
  configuration_error: 'The app is misconfigured for this call: see the log line.',
};

export function explainCheck(outcome: string): string {
  return CHECK_OUTCOMES[outcome] ?? `Alipay was asked; the outcome is ${outcome}.`;
}
