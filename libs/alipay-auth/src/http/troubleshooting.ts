import { REFUSED_TOKEN_CODES } from '../client/alipay-openapi.client';
import { AlipayApiError, AlipayAuthorizationStateProblem, AlipaySignatureErrorCode } from '../errors/alipay-auth.errors';
import { classifyRefreshFailure } from '../tokens/refresh-policy';
import { ALIPAY_AUTH_ERROR_ANSWERS, AlipayAuthErrorType } from './alipay-auth-exception.filter';

// The source of docs/troubleshooting.md (troubleshooting.spec.ts checks the page is this, and that every
// code the library classifies has a row). What the library does with each code, and each error's HTTP
// answer, are computed from the code that decides them, not written here.

interface Advice {
  meaning: string;
  action: string;
}

/** Alipay's codes: what they mean and what to do. */
const ALIPAY_CODES: Record<string, Advice> = {
  AUTH_CODE_NOT_VALID: {
    meaning: 'The `app_auth_code` was used already or has expired (codes are single-use and short-lived).',
    action:
      'Send the merchant through the authorization link again. A reloaded callback meets this: answer it from a memory of exchanged codes (the sample does).',
  },
  AUTH_CODE_NOT_EXIST: {
    meaning: 'Alipay does not know this code.',
    action: 'Check that `gateway` is the environment that issued it (sandbox codes are unknown to production); then authorize again.',
  },
  APP_ID_NOT_CONSISTENT: {
    meaning: 'The code or refresh token was issued to another ISV app than `appId`.',
    action: 'On one merchant: it authorized another app; ask it to authorize this one. On every merchant: `appId` is wrong.',
  },
  AUTH_TOKEN_NOT_CONSISTENT: {
    meaning: "The token query was asked about a token of another ISV app's.",
    action: 'As `APP_ID_NOT_CONSISTENT`: the row holds another app’s credential, or `appId` is wrong.',
  },
  REFRESH_TOKEN_NOT_VALID: {
    meaning: 'The refresh token was refused (used by a newer refresh, or revoked).',
    action: 'The merchant must authorize again: send it the link.',
  },
  REFRESH_TOKEN_NOT_EXIST: { meaning: 'Alipay does not know the refresh token.', action: 'The merchant must authorize again: send it the link.' },
  REFRESH_TOKEN_TIME_OUT: {
    meaning: 'The refresh token expired (it lives about a year past the last refresh).',
    action: 'The merchant must authorize again. Keep the scheduled refresh running so that tokens never get this old.',
  },
  AUTH_TOKEN_NOT_FOUND: { meaning: 'The authorization no longer exists at Alipay (cancelled or expired).', action: 'The merchant must authorize again.' },
  'invalid-app-auth-token': {
    meaning: 'A merchant call was refused with this `app_auth_token` (rotated by another instance, cancelled, or expired).',
    action: 'None when it passes: the library reloads or repairs the token and resends once. If it stays, check the merchant’s status (`checkStatus`).',
  },
  'app-auth-token-time-out': { meaning: 'The `app_auth_token` of a merchant call expired.', action: 'As `invalid-app-auth-token`.' },
  APP_NOT_ISV: {
    meaning: 'The app is not a third-party (ISV) app: it cannot hold merchants’ authorizations.',
    action: 'Use the app id of a third-party app created on the open platform for service providers.',
  },
  'missing-timestamp': {
    meaning: 'The request reached Alipay without a usable `Authorization` header.',
    action: 'Check that no proxy between the app and Alipay strips or rewrites the `Authorization` header.',
  },
  'missing-app-id': { meaning: 'No app id in the request.', action: 'Check option `appId` and that no proxy rewrites the `Authorization` header.' },
  'invalid-app-id': {
    meaning: 'Alipay does not know `appId` in this environment.',
    action: 'Check `appId`, and `gateway`: a sandbox app id works only on the sandbox gateway.',
  },
  'invalid-signature': {
    meaning: 'Alipay could not verify our signature.',
    action:
      'The private key does not match the public key (or app certificate) uploaded for this app in Alipay’s console: upload the public key of `privateKey`, or configure the matching key.',
  },
  'invalid-signature-type': {
    meaning: 'The app is not set up for RSA2 signatures.',
    action: 'Set the app’s signing method to RSA2 (SHA256withRSA) in Alipay’s console.',
  },
  'missing-signature-config': {
    meaning: 'The app has no key or certificate configured at Alipay.',
    action: 'Upload the app’s public key, or set up certificate mode, in Alipay’s console.',
  },
  'unsupported-expired-app-key-sign': {
    meaning: 'The key the app signs with has been retired at Alipay.',
    action: 'Configure the app’s current key pair (`privateKey`, and the matching Alipay key or certificates).',
  },
  'app-key-security-risk': { meaning: 'Alipay flagged the app’s key as at risk.', action: 'Generate a new key pair, upload its public key, and configure it.' },
  'app-cert-expired': {
    meaning: 'The app certificate has expired.',
    action: 'Download a new `appCertPublicKey_<appId>.crt` from Alipay’s console and configure it (`appCert`).',
  },
  'alipay-cert-not-exist': {
    meaning: 'Alipay has no certificate for the app in this mode.',
    action: 'Set up certificate mode in Alipay’s console, or configure key mode (`alipayPublicKey`).',
  },
  'missing-alipay-root-cert-sn': {
    meaning: 'A certificate-mode request lacked the root certificate SN.',
    action: 'Configure all three certificates (`appCert`, `alipayPublicCert`, `alipayRootCert`).',
  },
  'missing-alipay-cert-sn': { meaning: 'A certificate-mode request lacked Alipay’s certificate SN.', action: 'Configure all three certificates.' },
  'app-cert-not-exist': {
    meaning: 'Alipay does not know the app certificate sent.',
    action: 'Configure the app certificate downloaded for this app id (`appCert`).',
  },
  'missing-app-cert-sn': { meaning: 'A certificate-mode request lacked the app certificate SN.', action: 'Configure `appCert`.' },
  'invalid-alipay-root-cert-sn': {
    meaning: 'The root certificate SN sent is not Alipay’s.',
    action: 'Configure `alipayRootCert` as downloaded from Alipay’s console.',
  },
  'illegal-client-ip': {
    meaning: 'The server’s address is not on the app’s IP allow list.',
    action: 'Add the servers’ egress IP addresses to the allow list in Alipay’s console.',
  },
  'invalid-app-state': { meaning: 'The app is not online (offline, suspended or under review).', action: 'Check the app’s status in Alipay’s console.' },
  'forbidden-api': { meaning: 'The app may not call this API.', action: 'Add the product that includes the API to the app in Alipay’s console.' },
  'app-api-punished': { meaning: 'Alipay suspended this API for the app.', action: 'See the notice in Alipay’s console; contact Alipay.' },
  'missing-encrypt-key': {
    meaning: 'Content encryption was asked for and the app has no AES key at Alipay.',
    action: 'Set the AES key in Alipay’s console, or stop using `encrypt: true`.',
  },
  'invalid-encrypt-type': { meaning: 'The encryption type is not the app’s.', action: 'Use AES content encryption as configured in Alipay’s console.' },
  'decryption-error': {
    meaning: 'Alipay could not decrypt the request body (`decryption-error…`).',
    action: 'Option `encryptKey` is not the app’s AES key in Alipay’s console: configure the same key.',
  },
  'insufficient-isv-permissions': {
    meaning: 'The ISV app lacks the permission this call needs, for every merchant.',
    action: 'Apply for the permission or product in Alipay’s console.',
  },
  'invalid-timestamp': {
    meaning: 'Alipay refused the request’s timestamp.',
    action: 'Synchronise the server clock (NTP): the signature carries this host’s time.',
  },
  'illegal-timestamp': { meaning: 'As `invalid-timestamp`.', action: 'Synchronise the server clock (NTP).' },
  'missing-signature': {
    meaning: 'The request carried no signature.',
    action: 'A custom `signer` returned none, or a proxy stripped the `Authorization` header.',
  },
};

/** What the library does when a code comes back, from the code that decides it. */
function handling(code: string): string {
  const notes: string[] = [];
  if (REFUSED_TOKEN_CODES.has(code)) notes.push('merchant call: the token is reloaded, or confirmed and repaired, then the call is resent once');
  switch (classifyRefreshFailure(new AlipayApiError({ status: 400, code, message: '' }))) {
    case 'configuration':
      notes.push('app-wide: opens the configuration circuit (the scheduled run stops, health is down, event `ConfigurationError`); no merchant row changes');
      break;
    case 'dead-refresh-token':
      notes.push('refresh: the row becomes `reauthorization_required` (event `ReauthorizationRequired`)');
      break;
    case 'foreign-credential':
      notes.push('refresh or status check: that row’s failure, with back-off, named by health; 3 distinct rows in a row open the configuration circuit');
      break;
    default:
      if (!notes.length) notes.push('refresh: recorded on the row and tried again after the back-off; exchange: the callback fails with it');
  }
  return notes.join('; ');
}

const STATE_PROBLEMS: Record<AlipayAuthorizationStateProblem, Advice> = {
  malformed: {
    meaning: 'The callback’s `state` is not one this library issues.',
    action: 'Start again from the authorization link; check that nothing rewrites the redirect URL.',
  },
  'bad-signature': {
    meaning: 'The `state` was not signed with this `stateSecret` (tampered, or signed by an instance with another secret).',
    action: 'Give every instance the same `authorizationLink.stateSecret`.',
  },
  expired: {
    meaning: 'The link is older than `stateTtlMs` (10 minutes by default).',
    action: 'Start again; raise `stateTtlMs` (up to 1 hour) if merchants need longer.',
  },
  'no-cookie': {
    meaning: 'The callback came without the nonce cookie the link set.',
    action:
      'Serve the authorize route on the host and under the folder of `redirectUri` (the cookie is set for that folder); with `verifyState` of your own, read the cookie from the request (cookie-parser, or `AlipayAuthorizationCallback`, which reads the header itself).',
  },
  'other-browser': {
    meaning: 'The state was issued to another browser’s nonce.',
    action: 'Start again in the browser that will come back; a forged callback looks like this.',
  },
};

const SIGNATURE_CODES: Record<AlipaySignatureErrorCode, Advice> = {
  'response-signature-missing': {
    meaning: 'An answer came without `alipay-signature`.',
    action: 'A proxy or a wrong `gateway` answered instead of Alipay: check `gateway` and the network path.',
  },
  'response-signature-verify-error': {
    meaning: 'An answer’s (or a notification’s) signature does not verify with the configured Alipay key.',
    action:
      '`alipayPublicKey` (or `alipayPublicCert`) is not Alipay’s key for this app: copy it again from Alipay’s console. For a notification: it was forged or altered.',
  },
  'response-alipay-sn-verify-error': {
    meaning: 'The answer’s `alipay-sn` is not the configured Alipay certificate’s.',
    action: 'Alipay rotated its certificate: download `alipayCertPublicKey_RSA2.crt` again.',
  },
  'response-decrypt-error': { meaning: 'An encrypted answer could not be decrypted.', action: 'Option `encryptKey` is not the app’s AES key.' },
};

interface LibraryRow extends Advice {
  /** The filter's answer: the row's class and HTTP answer come from its table. */
  type: Exclude<AlipayAuthErrorType, 'internal'>;
  /** After the class name: its fields, or the case. */
  detail: string;
}

const LIBRARY_ERRORS: LibraryRow[] = [
  {
    type: 'invalid-input',
    detail: ' (`field`)',
    meaning: 'Input from a client is missing or malformed: `app_auth_code`, `app_id`, `state`, an `authAppId`.',
    action: 'Nothing on the server: the client sent it. The message names the field.',
  },
  ...Object.entries(STATE_PROBLEMS).map(([problem, advice]) => ({ type: 'authorization-state' as const, detail: ` \`${problem}\``, ...advice })),
  {
    type: 'authorization-required',
    detail: ' (`reason`)',
    meaning: 'The merchant has no usable authorization: never authorized, revoked, cancelled, or its refresh token died.',
    action: 'Send the merchant the authorization link; `reason` says which.',
  },
  {
    type: 'token-unreadable',
    detail: '',
    meaning: 'The stored tokens cannot be decrypted: their key id is not in `tokenEncryptionKeys`, or the bytes were altered.',
    action: 'Put the old key back after the current one, then run the re-encryption (`AlipayTokenReencryption`).',
  },
  {
    type: 'store-unavailable',
    detail: ' (`operation`, `reason`)',
    meaning: 'The token store failed (database down, connection lost, busy).',
    action: 'Check the database; `reason` is the driver’s code, `cause` its error. Retrying later is safe.',
  },
  {
    type: 'alipay-error',
    detail: ' (`code`, `traceId`)',
    meaning: 'Alipay refused a call: see its `code` in the table above.',
    action: 'Quote `traceId` to Alipay support.',
  },
  ...Object.entries(SIGNATURE_CODES).map(([code, advice]) => ({ type: 'alipay-signature' as const, detail: ` \`${code}\``, ...advice })),
  {
    type: 'alipay-timeout',
    detail: ' `timeout`',
    meaning: 'Alipay did not answer within `timeoutMs` (`sent` says whether it may have received the request).',
    action: 'Usually passing; a code exchange that timed out may have spent the code: authorize again. A refresh in doubt is verified by the library.',
  },
  {
    type: 'alipay-unreachable',
    detail: ' `connect`, `reset`, `other`',
    meaning: 'Alipay could not be reached, or the connection broke.',
    action: 'Check DNS, egress and proxies to `gateway`.',
  },
  {
    type: 'configuration',
    detail: ' (`problems`)',
    meaning: 'An option (or environment variable) is missing or malformed, or the start-up self-check failed.',
    action: 'The message names the option or variable and what it must be; the boot stops on it.',
  },
];

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The page docs/troubleshooting.md, generated. */
export function troubleshootingMarkdown(): string {
  const alipay = Object.entries(ALIPAY_CODES)
    .map(([code, a]) => `| \`${code}\` | ${cell(a.meaning)} | ${cell(handling(code))} | ${cell(a.action)} |`)
    .join('\n');
  const library = LIBRARY_ERRORS.map((r) => {
    const { error, statusCode } = ALIPAY_AUTH_ERROR_ANSWERS[r.type];
    return `| \`${error.name}\`${r.detail} | ${statusCode} \`${r.type}\` | ${cell(r.meaning)} | ${cell(r.action)} |`;
  }).join('\n');
  return `# Troubleshooting

[Back to the README](../README.md) · [all pages](README.md)

<!-- Generated from libs/alipay-auth/src/http/troubleshooting.ts by \`npm run docs:troubleshooting\`: edit that file. -->

Each Alipay code the library meets and each error it throws: what it means, what the library does, what
to do. "What the library does" and the HTTP answers are computed from the code that decides them.
Alipay's own diagnosis page for a failed call is in \`AlipayApiError.links\`; quote \`traceId\` to Alipay support.

## Alipay codes

| code | meaning | what the library does | what to do |
|---|---|---|---|
${alipay}

Codes are matched without the v2 \`isv.\` / \`aop.\` prefix. Any other code: recorded with the failure and
retried after the back-off (a refresh), or raised as \`AlipayApiError\` (a call of yours).

## Library errors

All extend \`AlipayAuthError\`. The HTTP answer is \`AlipayAuthExceptionFilter\`'s.

| error | HTTP | meaning | what to do |
|---|---|---|---|
${library}
`;
}

/** Every code the library classifies, for the check that each has a row. */
export const TROUBLESHOOTING_CODES: readonly string[] = Object.keys(ALIPAY_CODES);
