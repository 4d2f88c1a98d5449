import { KeyObject, randomUUID } from 'node:crypto';
import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayConfigError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { aesDecrypt, aesEncrypt } from './alipay-aes';
import { rsaSign, rsaVerify } from './alipay-keys';
import { AlipayResponseToVerify, AlipaySignedRequest, AlipaySigner, AlipaySignRequestInput } from './alipay-signer';
import { buildAuthorizationHeader, buildAuthString, buildNotifySignContent, buildRequestSignContent, buildResponseSignContent } from './alipay-v3-protocol';

/** Keys parsed once at start-up; nothing here is parsed per request. */
export interface RsaSignerMaterial {
  appId: string;
  /** Omit when a subclass signs elsewhere (override `signContent`). */
  privateKey?: KeyObject;
  alipayPublicKey: KeyObject;
  /** Certificate mode: SN of the app certificate (goes into the auth string). */
  appCertSn?: string;
  /** Certificate mode: `alipay-root-cert-sn` header. */
  alipayRootCertSn?: string;
  /** Certificate mode: SN that response header `alipay-sn` must equal. */
  alipayCertSn?: string;
  /** Decoded AES key. */
  encryptKey?: Buffer;
  /** Source of the auth-string timestamp; the module passes its `clock` option. */
  clock?: () => number;
}

/** The built-in RSA2 (SHA256withRSA) signer. */
export class RsaAlipaySigner extends AlipaySigner {
  readonly appId: string;
  readonly canEncrypt: boolean;

  constructor(private readonly material: RsaSignerMaterial) {
    super();
    this.appId = material.appId;
    this.canEncrypt = !!material.encryptKey;
  }

  /** Builds the signer from the module's resolved options; `MyKmsSigner.fromConfig(config)` works for subclasses. */
  static fromConfig<T extends RsaAlipaySigner>(this: new (m: RsaSignerMaterial) => T, config: ResolvedAlipayAuthConfig): T {
    if (!config.alipayPublicKey) throw new AlipayConfigError('Option "alipayPublicKey" (or the certificate options) is required to verify responses');
    return new this({
      appId: config.appId,
      privateKey: config.privateKey,
      alipayPublicKey: config.alipayPublicKey,
      appCertSn: config.appCertSn,
      alipayRootCertSn: config.alipayRootCertSn,
      alipayCertSn: config.alipayCertSn,
      encryptKey: config.encryptKey,
      clock: config.hostClock ?? config.clock,
    });
  }

  /** Override to sign elsewhere (KMS/HSM); must return base64 SHA256withRSA over the UTF-8 content. */
  protected async signContent(content: string): Promise<string> {
    if (!this.material.privateKey) throw new AlipayConfigError('Option "privateKey" is required by the built-in signer (or override signContent)');
    return rsaSign(this.material.privateKey, content);
  }

  async signRequest(input: AlipaySignRequestInput): Promise<AlipaySignedRequest> {
    const authString = buildAuthString({
      appId: this.appId,
      appCertSn: this.material.appCertSn,
      nonce: input.nonce ?? randomUUID(),
      timestamp: input.timestamp ?? String((this.material.clock ?? Date.now)()),
      additionalAuthInfo: input.additionalAuthInfo,
    });
    const content = buildRequestSignContent({
      authString,
      method: input.method,
      requestUri: input.requestUri,
      body: input.body,
      appAuthToken: input.appAuthToken,
    });
    const headers: Record<string, string> = {};
    if (this.material.alipayRootCertSn) headers['alipay-root-cert-sn'] = this.material.alipayRootCertSn;
    return { authorization: buildAuthorizationHeader(authString, await this.signContent(content)), headers };
  }

  async verifyResponse(res: AlipayResponseToVerify): Promise<void> {
    const traceId = res.headers['alipay-trace-id'];
    const signature = res.headers['alipay-signature'];
    const ok = res.status >= 200 && res.status < 300;
    // 2xx must be signed; an error body may be unsigned, but when signed it must verify (strictest SDK rule).
    if (!signature || signature === 'null') {
      if (!ok) return;
      throw new AlipaySignatureError('response-signature-missing', 'Alipay response has no alipay-signature header', traceId, res.status);
    }
    const sn = res.headers['alipay-sn'];
    if (this.material.alipayCertSn && sn && sn !== this.material.alipayCertSn) {
      throw new AlipaySignatureError(
        'response-alipay-sn-verify-error',
        `Alipay response alipay-sn ${sn} does not match the configured Alipay public certificate SN ${this.material.alipayCertSn}`,
        traceId,
        res.status,
      );
    }
    const content = buildResponseSignContent(res.headers['alipay-timestamp'] ?? '', res.headers['alipay-nonce'] ?? '', res.body);
    if (!rsaVerify(this.material.alipayPublicKey, content, signature)) {
      throw new AlipaySignatureError('response-signature-verify-error', 'Alipay response signature does not verify', traceId, res.status);
    }
  }

  /**
   * Like Alipay's official Node SDK (`checkNotifySign`): first with `sign_type` kept in the signed content
   * ("V2", some gateway messages), then without it ("V1", the message service and most notifications).
   */
  async verifyNotification(params: Record<string, string | undefined>): Promise<boolean> {
    if (!params || typeof params.sign !== 'string' || !params.sign) return false;
    if (params.sign_type && params.sign_type !== 'RSA2') return false;
    const key = this.material.alipayPublicKey;
    return (
      rsaVerify(key, buildNotifySignContent({ ...params, sign_type: params.sign_type || 'RSA2' }, { keepSignType: true }), params.sign) ||
      rsaVerify(key, buildNotifySignContent(params), params.sign)
    );
  }

  encrypt(plaintext: string): string {
    return aesEncrypt(this.requireKey(), plaintext);
  }

  decrypt(ciphertext: string): string {
    return aesDecrypt(this.requireKey(), ciphertext);
  }

  private requireKey(): Buffer {
    if (!this.material.encryptKey) throw new AlipayConfigError('Option "encryptKey" is required for content encryption');
    return this.material.encryptKey;
  }
}
