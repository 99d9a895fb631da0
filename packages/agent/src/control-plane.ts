import { isName, nameProblem, type DesiredEntry, type LoadReport, type Pin } from '@failsmall/core';
import { httpRequest } from '@failsmall/io';
import type { BreakglassLogEntry } from './breakglass-log.ts';

/** What a node registers with: its fleet token proves enrolment, its credential's hash binds the id. */
export interface Registration {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly modules: readonly string[];
  readonly pins: readonly Pin[];
  readonly credential_hash: string;
}

export type DesiredAnswer =
  /** Nothing changed since `etag` (the long-poll ran out). */
  | { readonly kind: 'unchanged' }
  /** The control plane does not know this node (a new database): register again. */
  | { readonly kind: 'unknown-node' }
  | { readonly kind: 'desired'; readonly artifacts: DesiredEntry[]; readonly refused: string[]; readonly etag: string | undefined };

/**
 * Everything the agent asks of the control plane. The agent depends on this interface, not on
 * HTTP: a test can hand it a control plane of its own, and the one implementation the agent
 * ships is `HttpControlPlane`.
 */
export interface ControlPlane {
  register(r: Registration): Promise<{ readonly enrolled: boolean }>;
  /** The desired state, long-polled: answered at once when it differs from `etag`, else within `waitMs`. */
  desired(etag: string | undefined, waitMs: number, signal: AbortSignal): Promise<DesiredAnswer>;
  /** A version's bytes (checked by the safe loader, never trusted here). */
  content(artifact: string, version: string): Promise<{ ok: true; content: Buffer } | { ok: false; error: string }>;
  reportLoad(r: LoadReport): Promise<void>;
  pushMetrics(body: { modules: Record<string, unknown>; signal_problems?: unknown }): Promise<void>;
  /** Break-glass log entries and the current pins; answers how many entries it could not verify. */
  reportBreakglass(body: { entries: readonly BreakglassLogEntry[]; pins: readonly Pin[] }): Promise<{ rejected: number }>;
}

export interface HttpControlPlaneOptions {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  readonly server: string;
  readonly nodeId: string;
  /** The fleet (join) token: registration only. */
  readonly fleetToken: string;
  /** The node's own credential, once it has one (every call but registration uses it). */
  readonly credential: () => string | undefined;
  /** Any answer at all from the control plane. */
  readonly onContact?: () => void;
  /**
   * The control plane no longer knows this node (404 on a node route: a rebuilt database) or its
   * credential (401: released by an operator): the agent registers again.
   */
  readonly onForgotten?: (why: 'unknown-node' | 'credential') => void;
}

/** The control plane refused a request as invalid (4xx): retrying the same request cannot help. */
export class RefusedError extends Error {}

/** The control plane answered, but with something no agent can act on: not "unreachable". */
export class BadAnswerError extends Error {}

/**
 * The control plane refused the token itself (401 to the fleet token, or a 403 about the token),
 * which is no network problem and must not read as one. A 401 to the node's own credential is not this:
 * the control plane forgot the node, and the agent enrols again with the fleet token.
 */
export class TokenRefusedError extends Error {}

/** Where the agent's token comes from (cli/src/token-source.ts), named in every refusal. */
export const TOKEN_HINT = 'check FAILSMALL_TOKEN / FAILSMALL_TOKEN_FILE (or --token)';

/** A 403 about the token (its role, the node it speaks for), not about the request: packages/server/src/http/auth.ts. */
function tokenRefusal(status: number, text: string, fleetToken: boolean): boolean {
  if (status === 401) return fleetToken;
  if (status !== 403) return false;
  try { return ['FORBIDDEN', 'NODE_BOUND', 'WRONG_NODE'].includes(String((JSON.parse(text) as { error?: { code?: unknown } }).error?.code)); } catch { return false; }
}

/** `UNAUTHENTICATED: unknown or revoked token`, from the API's error body, else the bare status. */
function refusal(status: number, text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown; hint?: unknown } }).error;
    if (typeof e?.message === 'string') return `HTTP ${status} ${String(e.code ?? '')}: ${e.message}${typeof e.hint === 'string' ? ` (${e.hint})` : ''}`;
  } catch { /* not JSON: fall through to the status */ }
  return `HTTP ${status}`;
}

/** The control plane over HTTP, with the node's credential as bearer. */
export class HttpControlPlane implements ControlPlane {
  readonly #o: HttpControlPlaneOptions;

  constructor(o: HttpControlPlaneOptions) {
    this.#o = o;
  }

  async register(r: Registration): Promise<{ enrolled: boolean }> {
    const res = await this.#call('POST', '/v1/nodes/register', r, this.#o.fleetToken) as { enrolled?: unknown } | undefined;
    return { enrolled: res?.enrolled === true };
  }

  async desired(etag: string | undefined, waitMs: number, signal: AbortSignal): Promise<DesiredAnswer> {
    const res = await httpRequest(`${this.#o.server}${this.#nodePath('desired')}?wait=${waitMs}`, {
      headers: { authorization: `Bearer ${this.#bearer()}`, ...(etag ? { 'if-none-match': etag } : {}) },
      signal, timeoutMs: waitMs + 15_000,
    });
    this.#o.onContact?.();
    if (res.status === 304) return { kind: 'unchanged' };
    if (res.status === 404) return { kind: 'unknown-node' };
    if (tokenRefusal(res.status, res.body.toString('utf8'), false)) throw new TokenRefusedError(`desired state: ${refusal(res.status, res.body.toString('utf8'))}`);
    if (res.status === 401) this.#o.onForgotten?.('credential');
    if (res.status < 200 || res.status >= 300) throw new Error(`desired state: HTTP ${res.status}`);
    const { artifacts, refused } = parseDesired(res.body);
    const tag = res.headers.etag;
    return { kind: 'desired', artifacts, refused, etag: typeof tag === 'string' ? tag : undefined };
  }

  async content(artifact: string, version: string): Promise<{ ok: true; content: Buffer } | { ok: false; error: string }> {
    const res = await httpRequest(`${this.#o.server}/v1/artifacts/${encodeURIComponent(artifact)}/versions/${encodeURIComponent(version)}/content`, {
      headers: { authorization: `Bearer ${this.#bearer()}` }, timeoutMs: 30_000,
    });
    this.#o.onContact?.();
    return res.status === 200 ? { ok: true, content: res.body } : { ok: false, error: `fetch ${artifact}@${version}: HTTP ${res.status}` };
  }

  async reportLoad(r: LoadReport): Promise<void> {
    await this.#call('POST', this.#nodePath('loads'), r);
  }

  async pushMetrics(body: { modules: Record<string, unknown>; signal_problems?: unknown }): Promise<void> {
    await this.#call('POST', this.#nodePath('metrics'), body);
  }

  async reportBreakglass(body: { entries: readonly BreakglassLogEntry[]; pins: readonly Pin[] }): Promise<{ rejected: number }> {
    const answer = await this.#call('POST', this.#nodePath('breakglass'), body) as { rejected?: unknown } | undefined;
    return { rejected: typeof answer?.rejected === 'number' ? answer.rejected : 0 };
  }

  #nodePath(what: string): string {
    return `/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/${what}`;
  }

  /** The node's own credential (the fleet token only registers). */
  #bearer(): string {
    return this.#o.credential() ?? this.#o.fleetToken;
  }

  async #call(method: string, path: string, body: unknown, bearer = this.#bearer()): Promise<unknown> {
    const res = await httpRequest(`${this.#o.server}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: 15_000,
    });
    this.#o.onContact?.();
    const text = res.body.toString('utf8');
    if (res.status === 404 && path.startsWith('/v1/nodes/') && !path.endsWith('/register')) this.#o.onForgotten?.('unknown-node');
    // Registration carries the fleet token: a 401 there means the token itself is wrong, not a forgotten node.
    if (tokenRefusal(res.status, text, bearer === this.#o.fleetToken)) {
      throw new TokenRefusedError(`${method} ${path}: ${refusal(res.status, text)}`);
    }
    if (res.status === 401) this.#o.onForgotten?.('credential');
    if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 404 && res.status !== 408 && res.status !== 429) {
      throw new RefusedError(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  }
}

/**
 * The desired state, checked entry by entry: artifact names and versions become file names on
 * this node, so anything but a plain name (core/names: a path, `..`, 129 characters) is refused
 * here, whatever the control plane says. One bad entry is skipped and reported; the others are
 * acted on, so a bad name can never block the rollback of another artifact.
 */
export function parseDesired(body: Buffer): { artifacts: DesiredEntry[]; refused: string[] } {
  let parsed: { artifacts?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as { artifacts?: unknown };
  } catch {
    throw new BadAnswerError('the desired state is not JSON');
  }
  if (!Array.isArray(parsed?.artifacts)) throw new BadAnswerError('the desired state has no artifacts list');
  const artifacts: DesiredEntry[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  for (const a of parsed.artifacts as Partial<DesiredEntry>[]) {
    const shown = JSON.stringify(typeof a?.artifact === 'string' ? a.artifact.slice(0, 60) : a?.artifact ?? null);
    const problem = !isName(a?.artifact) ? `artifact name ${shown}: ${nameProblem(a?.artifact)}`
      : !isName(a.module) ? `artifact ${a.artifact}: module ${JSON.stringify(a.module)}: ${nameProblem(a.module)}`
        : a.version !== null && !isName(a.version) ? `artifact ${a.artifact}: version ${JSON.stringify(typeof a.version === 'string' ? (a.version as string).slice(0, 60) : a.version)}: ${nameProblem(a.version)}`
          : seen.has(a.artifact) ? `artifact ${a.artifact} is listed twice`
            : undefined;
    if (problem !== undefined) { refused.push(problem); continue; }
    seen.add(a.artifact as string);
    artifacts.push(a as DesiredEntry);
  }
  return { artifacts, refused };
}
