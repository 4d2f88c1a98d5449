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
  return createHash('md5')
    .update(issuerString(cert) + serialDecimal, 'utf8')
    .digest('hex');
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

const DAY_MS = 24 * 3600_000;

/**
 * Checks a certificate file as configured: its first certificate chains, through the other certificates
 * of the same file, to a root of `rootBundlePem`, and is within its validity at `now`. Throws an
 * `AlipayConfigError` naming the option; returns a warning when it expires within 30 days.
 */
export function checkCertificateChain(pem: string, rootBundlePem: string, option: string, rootOption: string, now: number): string | undefined {
  const [leafPem, ...rest] = splitCertificates(pem);
  if (!leafPem) throw new AlipayConfigError(`Option "${option}" holds no PEM certificate`);
  const leaf = parse(leafPem, option);
  const roots = splitCertificates(rootBundlePem).map((b) => parse(b, rootOption));
  const pool = [...rest.map((b) => parse(b, option)), ...roots];
  let cert = leaf;
  for (let depth = 0; ; depth++) {
    if (roots.some((r) => r.fingerprint256 === cert.fingerprint256)) break;
    const issuer = pool.find((c) => c.fingerprint256 !== cert.fingerprint256 && cert.checkIssued(c) && cert.verify(c.publicKey));
    if (!issuer || depth > 8) {
      throw new AlipayConfigError(
        `Option "${option}" does not chain to a certificate of option "${rootOption}": a certificate from another CA, or the wrong root bundle`,
      );
    }
    if (roots.includes(issuer)) break;
    cert = issuer;
  }
  return checkValidity(leaf, option, now);
}

/** Error when the certificate is expired or not yet valid; a warning within 30 days of its end. */
export function checkValidity(pem: string | X509Certificate, option: string, now: number): string | undefined {
  const cert = parse(pem, option);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now > to)
    throw new AlipayConfigError(
      `Option "${option}" holds a certificate that expired on ${new Date(to).toISOString()}; download the current one from Alipay's console`,
    );
  if (now < from) throw new AlipayConfigError(`Option "${option}" holds a certificate valid only from ${new Date(from).toISOString()}`);
  if (to - now < 30 * DAY_MS) return `Option "${option}" holds a certificate that expires on ${new Date(to).toISOString()}, within 30 days`;
  return undefined;
}
