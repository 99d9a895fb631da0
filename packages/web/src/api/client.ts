import { ApiFailureError, failureOf, unreachable } from './failure.ts';

/**
 * The dashboard's client of the control plane's API: the same routes and bearer tokens as the
 * CLI, on the page's own origin (no CORS). Every failure is thrown as an ApiFailureError.
 *
 * Examples
 *   const api = new Api(token);
 *   const { rollouts } = await api.get<{ rollouts: RolloutState[] }>('/v1/rollouts?limit=100');
 */
export class Api {
  readonly #token: string;
  readonly #fetch: typeof fetch;

  constructor(token: string, fetcher: typeof fetch = (...a) => fetch(...a)) {
    this.#token = token;
    this.#fetch = fetcher;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.#call<T>('GET', path, undefined, signal);
  }

  /** A text answer (the postmortem's Markdown); a failure is still the API's JSON error. */
  getText(path: string, signal?: AbortSignal): Promise<string> {
    return this.#call<string>('GET', path, undefined, signal, 'text');
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('POST', path, JSON.stringify(body));
  }

  async #call<T>(method: string, path: string, body?: string, signal?: AbortSignal, as: 'json' | 'text' = 'json'): Promise<T> {
    let res: Response;
    try {
      res = await this.#fetch(path, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body } : {}),
        ...(signal ? { signal } : {}),
        // The token goes in the header only: never a cookie, never cached.
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiFailureError(unreachable(err));
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON: the status says enough */ }
    if (!res.ok) throw new ApiFailureError(failureOf(res.status, parsed));
    return (as === 'text' ? text : parsed) as T;
  }
}
