/** A real HTTP receiver (node:http on 127.0.0.1) for notification tests: no HTTP test doubles. */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Listens on `port` (0: any free one), answers 200 to every request and keeps them, in arrival order. */
export async function listen(port = 0): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => { got.push({ headers: req.headers, body }); res.end('ok'); });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}/hook`;
  return { url, got, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

/** The delivery ids received, in arrival order. */
export const ids = (got: readonly Received[]): string[] => got.map((r) => String(r.headers['x-failsmall-delivery']));
