import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';

/** Deeper than any body the API defines (the deepest schema nests about 6 levels): refused before validation. */
export const MAX_JSON_DEPTH = 64;

/**
 * Depth of a parsed JSON value, counted without recursion, stopping as soon as it passes `limit`:
 * JSON.parse accepts thousands of levels, but the code after it (schema validation, JSON.stringify
 * into the store) recurses and ran out of stack (a 500, found by the API fuzzer).
 */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push({ v: child, d: d + 1 });
  }
  return false;
}

/** Every JSON body is bounded in depth before any route's schema reads it. */
export function boundJsonDepth(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    if (req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body) && jsonDepthExceeds(req.body, MAX_JSON_DEPTH)) {
      throw new ApiError(400, 'TOO_DEEP', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, 'no body this API reads nests that deep; see docs/api.md for its shape');
    }
  });
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers over 16 KiB, a malformed
 * request line, a timeout) get the API's one error shape instead of Fastify's default body.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, label, code, message] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'the request headers are over the server\'s 16 KiB limit']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request did not arrive in time']
      : [400, 'Bad Request', 'BAD_REQUEST', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message, hint: 'send a token of normal size in Authorization: Bearer; see docs/api.md' } });
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${label}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy(err);
}
