import { Readable } from 'node:stream';
import { AlipayAuthError } from '../errors/alipay-auth.errors';
import { checkJsonBody, encodeMultipart } from './multipart';

const file = { field: 'image_content', filename: 'a.png', content: Buffer.from([0, 1, 2, 13, 10]) };

describe('multipart encoding', () => {
  it('signs the data JSON and frames the parts: data first, then each file with its media type', () => {
    const m = encodeMultipart({
      fields: { image_type: 'png', image_name: '门店' },
      files: [file, { field: 'video', filename: 'b.bin', content: new Uint8Array([7]) }],
    });
    expect(m.signedBody).toBe('{"image_type":"png","image_name":"门店"}');
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(m.contentType)![1];
    expect(
      m.body.equals(
        Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"\r\nContent-Type: application/json\r\n\r\n${m.signedBody}\r\n`),
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image_content"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
          file.content,
          Buffer.from(
            `\r\n--${boundary}\r\nContent-Disposition: form-data; name="video"; filename="b.bin"\r\nContent-Type: application/octet-stream\r\n\r\n\x07\r\n--${boundary}--\r\n`,
          ),
        ]),
      ),
    ).toBe(true);
    expect(encodeMultipart({ files: [file] }).signedBody).toBe('{}');
  });

  it('refuses what would break the framing or the signed JSON, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ files: [] }, 'multipart.files'],
      [{ fields: new Map(), files: [file] }, 'multipart.fields'],
      [{ files: [{ ...file, field: 'data' }] }, 'multipart.files[0].field'],
      [{ files: [{ ...file, filename: 'a".png' }] }, 'multipart.files[0].filename'],
      [{ files: [{ ...file, filename: 'a\r\nX-Injected: 1' }] }, 'multipart.files[0].filename'],
      [{ files: [{ ...file, content: 'text' }] }, 'multipart.files[0].content'],
      [{ files: [{ ...file, contentType: 'image/png\r\nX: 1' }] }, 'multipart.files[0].contentType'],
    ];
    for (const [input, field] of cases) {
      expect(() => encodeMultipart(input as never)).toThrow(AlipayAuthError);
      expect(() => encodeMultipart(input as never)).toThrow(`"${field}"`);
    }
  });

  it('a body must be JSON data: binary, streams and class instances are refused, pointing at multipart', () => {
    for (const ok of [undefined, null, 'raw', 1, true, [], {}, Object.create(null)]) expect(() => checkJsonBody(ok)).not.toThrow();
    for (const bad of [Buffer.from('x'), new Uint8Array(1), Readable.from(['x']), new (class Form {})(), new Date()]) {
      expect(() => checkJsonBody(bad)).toThrow(/"multipart: \{ fields, files \}"/);
    }
  });
});
