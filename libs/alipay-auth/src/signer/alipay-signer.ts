/** What the client asks the signer to sign: the exact strings that go on the wire. */
export interface AlipaySignRequestInput {
  method: string;
  /** Path plus `?query` exactly as sent. */
  requestUri: string;
  /** Body exactly as sent (ciphertext when encrypted); '' when none. */
  body: string;
  appAuthToken?: string | null;
  /** Pinned only by tests; a fresh UUID otherwise. */
  nonce?: string;
  /** Pinned only by tests; `Date.now()` otherwise. */
  timestamp?: string;
  /** Appended verbatim to the auth string (the Node SDK's `additionalAuthInfo`). Off by default. */
  additionalAuthInfo?: string;
}

export interface AlipaySignedRequest {
  /** The `Authorization` header value. */
  authorization: string;
  /** Other headers the signature mode needs (`alipay-root-cert-sn` in certificate mode). */
  headers: Record<string, string>;
}

export interface AlipayResponseToVerify {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** The raw body exactly as received, before any JSON parsing or decryption. */
  body: string;
}

/**
 * The protocol operations the client needs. Provide your own (for a key held in a KMS or HSM) with
 * the module's `signer` option, or extend `RsaAlipaySigner` and override `signContent`.
 */
export abstract class AlipaySigner {
  abstract readonly appId: string;
  /** True when an AES `encryptKey` is configured. */
  abstract readonly canEncrypt: boolean;
  abstract signRequest(input: AlipaySignRequestInput): Promise<AlipaySignedRequest>;
  /** Throws `AlipaySignatureError` when the response cannot be trusted. */
  abstract verifyResponse(response: AlipayResponseToVerify): Promise<void>;
  abstract encrypt(plaintext: string): Promise<string> | string;
  abstract decrypt(ciphertext: string): Promise<string> | string;
  /** True when an asynchronous notification (form parameters, v2 `sign`) was signed by Alipay. */
  abstract verifyNotification(params: Record<string, string | undefined>): Promise<boolean>;
}
