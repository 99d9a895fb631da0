import { EXIT } from './exit-codes.ts';
import { apiError } from './api-error.ts';

/** An error from the API (with its code and hint) or from the network, mapped to an exit code. */
export class CliError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: unknown;
  constructor(code: string, message: string, exitCode: number, hint?: string, details?: unknown) {
    super(message);
    this.code = code;
    this.hint = hint;
    this.exitCode = exitCode;
    this.details = details;
  }
}

export interface ClientOptions {
  readonly server: string;
  readonly token: string | undefined;
}

/** A thin client for the control-plane API. */
export class ApiClient {
  readonly #o: ClientOptions;

  constructor(o: ClientOptions) {
    this.#o = { server: o.server.replace(/\/+$/, ''), token: o.token };
  }

  get server(): string { return this.#o.server; }

  async get<T>(path: string): Promise<T> {
    return this.#request<T>('GET', path);
  }

  async post<T>(path: string, body?: unknown): Promise<T> {
    return this.#request<T>('POST', path, body === undefined ? undefined : { body: JSON.stringify(body), type: 'application/json' });
  }

  async delete<T>(path: string): Promise<T> {
    return this.#request<T>('DELETE', path);
  }

  async postBytes<T>(path: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<T> {
    return this.#request<T>('POST', path, { body: bytes, type: 'application/octet-stream', headers });
  }

  async #request<T>(method: string, path: string, payload?: { body: string | Uint8Array; type: string; headers?: Record<string, string> }): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.#o.server}${path}`, {
        method,
        headers: {
          ...(this.#o.token ? { authorization: `Bearer ${this.#o.token}` } : {}),
          ...(payload ? { 'content-type': payload.type, ...(payload.headers ?? {}) } : {}),
        },
        ...(payload ? { body: payload.body } : {}),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new CliError('UNREACHABLE', `cannot reach the control plane at ${this.#o.server}: ${cause}`, EXIT.UNREACHABLE, 'start it with failsmall serve, or pass --server / set FAILSMALL_SERVER');
    }
    const text = await res.text();
    let body: unknown;
    try { body = text ? JSON.parse(text) : {}; } catch { body = { raw: text }; }
    if (!res.ok) throw apiError(res.status, body);
    return body as T;
  }
}
