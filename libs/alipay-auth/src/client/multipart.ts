import { randomBytes } from 'node:crypto';
import { AlipayAuthError } from '../errors/alipay-auth.errors';

/** One file part of a v3 upload. */
export interface AlipayMultipartFile {
  /** The part's name, e.g. `image_content`. */
  field: string;
  /** Sent in the part's Content-Disposition: no quotes or control characters. */
  filename: string;
  /** The file's bytes. */
  content: Buffer | Uint8Array;
  /** Default: from the file name's extension (images, PDF, video), else `application/octet-stream`. */
  contentType?: string;
}

/** A v3 upload: `fields` become the signed `data` part (compact JSON), then one part per file. */
export interface AlipayMultipart {
  /** The non-file fields: sent as the `data` part's compact JSON, which is what gets signed. Default `{}`. */
  fields?: Record<string, unknown>;
  /** At least one file part. */
  files: AlipayMultipartFile[];
}

export interface EncodedMultipart {
  /** What is signed: the `data` part's JSON, as the official SDKs sign it. */
  signedBody: string;
  body: Buffer;
  contentType: string;
}

const TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  pdf: 'application/pdf',
  mp4: 'video/mp4',
};
/** Part names and file names go into a quoted header: no quotes, backslashes, line breaks or other control characters. */
function headerSafe(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && ![...value].some((c) => c < ' ' || c === '\x7f' || c === '"' || c === '\\');
}
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!value || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A `body` is JSON data: a string sent as is, or a plain object or array. A Buffer, a stream or a class
 * instance (an upload form, say) would be JSON-encoded into nonsense, so it is refused, pointing at `multipart`.
 */
export function checkJsonBody(body: unknown): void {
  if (body === undefined || body === null || ['string', 'number', 'boolean'].includes(typeof body) || Array.isArray(body) || isPlainObject(body)) return;
  const what =
    Buffer.isBuffer(body) || ArrayBuffer.isView(body)
      ? 'binary data'
      : typeof (body as { pipe?: unknown })?.pipe === 'function'
        ? 'a stream'
        : 'not plain JSON data';
  throw new AlipayAuthError(`Request "body" is ${what}; send files with "multipart: { fields, files }"`);
}

/** Builds the `multipart/form-data` body the way the official Node SDK lays it out (data part first, CRLF framing). */
export function encodeMultipart(multipart: AlipayMultipart): EncodedMultipart {
  if (!isPlainObject(multipart)) throw new AlipayAuthError('Request "multipart" must be an object { fields, files }');
  const fields = multipart.fields ?? {};
  if (!isPlainObject(fields)) throw new AlipayAuthError('Request "multipart.fields" must be a plain object (it is sent as the signed "data" JSON)');
  if (!Array.isArray(multipart.files) || multipart.files.length === 0) throw new AlipayAuthError('Request "multipart.files" must be a non-empty array');
  const boundary = `----AlipayFormBoundary${randomBytes(12).toString('hex')}`;
  const signedBody = JSON.stringify(fields);
  const parts: Buffer[] = [part(boundary, 'Content-Disposition: form-data; name="data"\r\nContent-Type: application/json', Buffer.from(signedBody, 'utf8'))];
  multipart.files.forEach((file, i) => {
    const at = `multipart.files[${i}]`;
    if (!file || typeof file !== 'object') throw new AlipayAuthError(`Request "${at}" must be { field, filename, content }`);
    if (!headerSafe(file.field) || file.field === 'data') {
      throw new AlipayAuthError(`Request "${at}.field" must be a part name other than "data", without quotes or control characters`);
    }
    if (!headerSafe(file.filename)) {
      throw new AlipayAuthError(`Request "${at}.filename" must be 1-256 characters without quotes or control characters`);
    }
    if (!(file.content instanceof Uint8Array)) throw new AlipayAuthError(`Request "${at}.content" must be a Buffer or Uint8Array`);
    const type = file.contentType ?? TYPES[file.filename.split('.').pop()!.toLowerCase()] ?? 'application/octet-stream';
    if (typeof type !== 'string' || !TOKEN.test(type)) throw new AlipayAuthError(`Request "${at}.contentType" must be a media type such as image/png`);
    const content = Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength);
    parts.push(part(boundary, `Content-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${type}`, content));
  });
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { signedBody, body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

function part(boundary: string, headers: string, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`, 'utf8'), content, Buffer.from('\r\n')]);
}
