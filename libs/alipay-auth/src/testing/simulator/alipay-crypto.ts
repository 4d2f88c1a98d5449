// The library's own signing and encryption primitives, by file: the simulator ships inside the package
// and must not load the package entry (Nest, TypeORM) just to sign a response.
export { aesDecrypt, aesEncrypt, loadAesKey } from '../../signer/alipay-aes';
export { certPublicKey, certSn, rootCertSn } from '../../signer/alipay-cert';
export { loadPrivateKey, loadPublicKey, publicKeyToBase64, rsaSign, rsaVerify } from '../../signer/alipay-keys';
export { buildNotifySignContent, buildRequestSignContent, buildResponseSignContent, parseAuthorizationHeader } from '../../signer/alipay-v3-protocol';
