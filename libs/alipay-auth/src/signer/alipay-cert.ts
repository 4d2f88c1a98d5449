import { createHash, KeyObject, X509Certificate } from 'node:crypto';
import { AlipayConfigError } from '../errors/alipay-auth.errors';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const RSA_SIGNATURE_OID_PREFIX = '1.2.840.113549.1.1';

/** Every certificate PEM block in a text, in file order. */
export function splitCertificates(pemText: string): string[] {
  return pemText.match(CERT_BLOCK) ?? [];
}

function parse(pem: string | X509Certificate, option: string): X509Certificate {
  if (pem instanceof X509Certificate) return pem;
  try {
    return new X509Certificate(pem);
  } catch {
    throw new AlipayConfigError(`Option "${option}" is not a readable PEM certificate`);
  }
}

/** Issuer RDNs in reverse DER order, `SHORT=value` joined by `,` (Alipay's issuer string). */
export function issuerString(cert: X509Certificate): string {
  return cert.issuer.split('\n').reverse().join(',');
}

/** Cert SN = md5_hex(issuerDN + serialDecimal), as Alipay computes it. */
export function certSn(pem: string | X509Certificate, option = 'certificate'): string {
  const cert = parse(pem, option);
  const serialDecimal = BigInt(`0x${cert.serialNumber}`).toString(10);
  return createHash('md5').update(issuerString(cert) + serialDecimal, 'utf8').digest('hex');
}

/** alipay_root_cert_sn: SNs of the RSA-signed certs of the bundle, in file order, joined by `_`. */
export function rootCertSn(bundlePem: string, option = 'alipayRootCert'): string {
  const blocks = splitCertificates(bundlePem);
  if (blocks.length === 0) throw new AlipayConfigError(`Option "${option}" holds no PEM certificate`);
  return blocks
    .map((b) => parse(b, option))
    .filter((c) => signatureAlgorithmOid(c).startsWith(RSA_SIGNATURE_OID_PREFIX))
    .map((c) => certSn(c))
    .join('_');
}

export function certPublicKey(pem: string, option = 'certificate'): KeyObject {
  return parse(pem, option).publicKey;
}

/**
 * The certificate's outer signatureAlgorithm OID. Node 20's X509Certificate does not expose it, so
 * read the three DER headers that lead to it: Certificate SEQ > skip tbsCertificate > AlgorithmIdentifier SEQ > OID.
 */
export function signatureAlgorithmOid(cert: X509Certificate): string {
  const der = cert.raw;
  const outer = readHeader(der, 0);
  const tbs = readHeader(der, outer.contentStart);
  const algId = readHeader(der, tbs.contentStart + tbs.length);
  const oid = readHeader(der, algId.contentStart);
  if (oid.tag !== 0x06) throw new Error('malformed certificate: no signature algorithm OID');
  return decodeOid(der.subarray(oid.contentStart, oid.contentStart + oid.length));
}

function readHeader(buf: Buffer, at: number): { tag: number; length: number; contentStart: number } {
  const tag = buf[at];
  let length = buf[at + 1];
  let contentStart = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[at + 2 + i];
    contentStart += n;
  }
  return { tag, length, contentStart };
}

function decodeOid(bytes: Buffer): string {
  const parts = [Math.floor(bytes[0] / 40), bytes[0] % 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}
