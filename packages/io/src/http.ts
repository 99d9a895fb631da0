import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Refuse a response body larger than this (default 64 MiB). */
  readonly maxBytes?: number;
}

// node:http rather than fetch: fetch brings undici and its WebAssembly HTTP parser, about
// 12 MB of resident memory that an agent on every node does not need (docs/benchmarks.md).
// No socket cap: a long-poll holds one socket, and several agents may share a process (the SDK, the demo).
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** One HTTP request with a hard timeout and an optional abort signal; the body is buffered. */
export function httpRequest(url: string, o: HttpRequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    const req = lib.request(target, {
      method: o.method ?? 'GET',
      headers: { ...(o.headers ?? {}), ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}) },
      agent: target.protocol === 'https:' ? agents.https : agents.http,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const max = o.maxBytes ?? 64 * 1024 * 1024;
      // With a Content-Length, fill one buffer of that size: a megabyte artifact then costs one
      // megabyte while it downloads, not its chunks plus their concatenation.
      const declared = Number(res.headers['content-length']);
      const whole = Number.isInteger(declared) && declared > 0 && declared <= max ? Buffer.allocUnsafe(declared) : undefined;
      res.on('data', (c: Buffer) => {
        if (whole && size + c.length <= whole.length) { c.copy(whole, size); size += c.length; return; }
        size += c.length;
        if (size > max) { req.destroy(new Error(`response larger than ${max} bytes`)); return; }
        chunks.push(c);
      });
      res.on('end', () => {
        cleanup();
        const body = whole && chunks.length === 0 ? whole.subarray(0, size) : Buffer.concat(whole ? [whole.subarray(0, Math.min(size, whole.length)), ...chunks] : chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`timed out after ${o.timeoutMs} ms`), { name: 'TimeoutError' })), o.timeoutMs);
    const onAbort = () => req.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup() { clearTimeout(timer); o.signal?.removeEventListener('abort', onAbort); }
    function fail(err: Error) { cleanup(); reject(err); }
    req.on('error', fail);
    if (o.signal?.aborted) onAbort();
    req.end(o.body);
  });
}
