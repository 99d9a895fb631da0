import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

/**
 * The one HTTP call a signal source needs, injected so tests and the simulator can hand a fake.
 * Same shape as the agent's `httpRequest` (packages/agent/src/http.ts), which the agent's
 * package does not export; node:http rather than fetch for the same reason (undici's memory).
 */
export type HttpRequest = (url: string, o: HttpRequestOptions) => Promise<HttpResponse>;

export interface HttpRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  /** Refuse a response body larger than this. */
  readonly maxBytes: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** One request with a hard timeout (an error named TimeoutError); the body is buffered. */
export const nodeHttpRequest: HttpRequest = (url, o) => new Promise((resolve, reject) => {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const req = (secure ? https : http).request(target, {
    method: o.method ?? 'GET',
    headers: { ...(o.headers ?? {}), ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}) },
    agent: secure ? agents.https : agents.http,
  }, (res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > o.maxBytes) { req.destroy(Object.assign(new Error(`response larger than ${o.maxBytes} bytes`), { name: 'TooLargeError' })); return; }
      chunks.push(c);
    });
    res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }); });
    res.on('error', fail);
  });
  const timer = setTimeout(() => req.destroy(Object.assign(new Error(`timed out after ${o.timeoutMs} ms`), { name: 'TimeoutError' })), o.timeoutMs);
  function fail(err: Error) { clearTimeout(timer); reject(err); }
  req.on('error', fail);
  req.end(o.body);
});
