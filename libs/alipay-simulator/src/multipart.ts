import { GatewayError } from './errors';

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  content: Buffer;
}

/** A `multipart/form-data` upload as the gateway reads it: the signed `data` JSON part, and the rest. */
export interface ParsedUpload {
  /** The `data` part's text ('' without one): what the signature covers. */
  data: string;
  parts: FormPart[];
}

const bad = (why: string) => new GatewayError(400, 'invalid-parameter', `multipart 请求格式错误：${why}`);

function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  if (!m) throw bad('缺少 boundary');
  return m[1] ?? m[2];
}

function parseHeaders(text: string): { name: string; filename?: string; contentType?: string } {
  let name: string | undefined;
  let filename: string | undefined;
  let contentType: string | undefined;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) throw bad('分段头格式错误');
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-disposition') {
      if (!/^form-data\b/i.test(value)) throw bad('Content-Disposition 必须是 form-data');
      name = /;\s*name="([^"]*)"/i.exec(value)?.[1];
      filename = /;\s*filename="([^"]*)"/i.exec(value)?.[1];
    } else if (key === 'content-type') contentType = value;
  }
  if (!name) throw bad('分段缺少 name');
  return { name, filename, contentType };
}

/** RFC 7578 framing (CRLF, `--boundary`, closing `--boundary--`); anything else is a 400, as a strict gateway would answer. */
export function parseMultipart(body: Buffer, contentType: string): ParsedUpload {
  const boundary = boundaryOf(contentType);
  const delimiter = Buffer.from(`--${boundary}`);
  if (!body.subarray(0, delimiter.length).equals(delimiter)) throw bad('请求体不以 boundary 开头');
  const parts: FormPart[] = [];
  let at = delimiter.length;
  for (;;) {
    if (body.subarray(at, at + 2).toString() === '--') break;
    if (body.subarray(at, at + 2).toString() !== '\r\n') throw bad('boundary 后缺少换行');
    const headersEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headersEnd < 0) throw bad('分段头未结束');
    const headers = parseHeaders(body.subarray(at + 2, headersEnd).toString('utf8'));
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headersEnd + 4);
    if (next < 0) throw bad('缺少结束 boundary');
    parts.push({ ...headers, content: body.subarray(headersEnd + 4, next) });
    at = next + 2 + delimiter.length;
  }
  const dataParts = parts.filter((p) => p.name === 'data' && p.filename === undefined);
  if (dataParts.length > 1) throw bad('data 分段重复');
  return { data: dataParts[0]?.content.toString('utf8') ?? '', parts: parts.filter((p) => !dataParts.includes(p)) };
}
