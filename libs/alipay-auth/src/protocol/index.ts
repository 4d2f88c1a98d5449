// `nestjs-alipay-auth/protocol`: Alipay's OpenAPI v3 wire protocol without Nest, TypeORM or the token
// machinery: key and certificate loading, RSA2 signing and verification, AES content encryption, the
// signed contents and headers, and the signer contract with its RSA2 implementation (for a signer of
// your own, e.g. a key held in a KMS). The simulator (`nestjs-alipay-auth-simulator`) is built on it.
export { AlipaySigner } from '../signer/alipay-signer';
export type { AlipaySignRequestInput, AlipaySignedRequest, AlipayResponseToVerify } from '../signer/alipay-signer';
export { RsaAlipaySigner } from '../signer/rsa-alipay-signer';
export type { RsaSignerMaterial } from '../signer/rsa-alipay-signer';
export * from '../signer/alipay-v3-protocol';
export * from '../signer/alipay-gateway-paths';
export { loadPrivateKey, loadPublicKey, rsaSign, rsaVerify, publicKeyToBase64 } from '../signer/alipay-keys';
export { loadAesKey, aesEncrypt, aesDecrypt } from '../signer/alipay-aes';
export { certSn, rootCertSn, certPublicKey, splitCertificates, signatureAlgorithmOid } from '../signer/alipay-cert';
export { AlipayAuthError, AlipayConfigError, AlipaySignatureError } from '../errors/alipay-auth.errors';
export type { AlipaySignatureErrorCode } from '../errors/alipay-auth.errors';
