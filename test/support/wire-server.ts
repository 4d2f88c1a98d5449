import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface WireRequest {
  method: string;
  /** The request target exactly as it appeared on the request line. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type WireHandler = (req: WireRequest, res: ServerResponse) => void;

/** A loopback HTTP server that records every request byte for byte and lets each test answer. */
export async function startWireServer(handler: WireHandler): Promise<{ url: string; requests: WireRequest[]; server: Server; close(): Promise<void> }> {
  const requests: WireRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const wire: WireRequest = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(wire);
      handler(wire, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
