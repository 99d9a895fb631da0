/**
 * The IO every process needs, in one place: the HTTP client (node:http, no undici), the command
 * runner (a hard timeout, the whole process group killed) and backoff with jitter. Server, agent
 * and CLI import it; none of them imports another for it.
 */
export { httpRequest, type HttpResponse, type HttpRequestOptions } from './http.ts';
export { runCommand, type CommandResult } from './command.ts';
export { Backoff, backoffDelayMs, retryAfterMs } from './backoff.ts';
