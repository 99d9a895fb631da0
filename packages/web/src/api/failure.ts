/**
 * Why a call to the API did not give an answer, in the words the page shows: each kind has its
 * own panel (api/failure.ts → parts/FailurePanel.tsx), so a visitor never sees a blank screen.
 */
export type FailureKind = 'unreachable' | 'unauthenticated' | 'forbidden' | 'not-found' | 'failed';

export interface ApiFailure {
  readonly kind: FailureKind;
  /** The HTTP status; null when no answer came. */
  readonly status: number | null;
  /** The API's error code (`UNAUTHENTICATED`, `NOT_FOUND`, …), or `UNREACHABLE`. */
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
}

/** Thrown by the client; the page catches it and shows the failure. */
export class ApiFailureError extends Error {
  readonly failure: ApiFailure;
  constructor(failure: ApiFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

/**
 * An error answer as a failure: the API's one error shape `{ error: { code, message, hint } }`,
 * or, for anything else (a proxy's HTML page), the status alone.
 *
 * Examples
 *   failureOf(401, { error: { code: 'UNAUTHENTICATED', message: 'unknown or revoked token' } }).kind // 'unauthenticated'
 */
export function failureOf(status: number, body: unknown): ApiFailure {
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const code = typeof error.code === 'string' ? error.code : `HTTP_${status}`;
  const message = typeof error.message === 'string' ? error.message : `the control plane answered HTTP ${status}`;
  const hint = typeof error.hint === 'string' ? error.hint : null;
  const kind: FailureKind = status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : status === 404 ? 'not-found' : 'failed';
  return { kind, status, code, message, hint };
}

/** No answer at all: the control plane is down, restarting, or the network is gone. */
export function unreachable(err: unknown): ApiFailure {
  return {
    kind: 'unreachable', status: null, code: 'UNREACHABLE',
    message: `the control plane did not answer (${err instanceof Error ? err.message : String(err)})`,
    hint: 'the page tries again by itself; check that failsmall serve is running',
  };
}

/** The failure a caught error carries, or an unexpected one. */
export function failureFrom(err: unknown): ApiFailure {
  if (err instanceof ApiFailureError) return err.failure;
  return { kind: 'failed', status: null, code: 'PAGE_ERROR', message: err instanceof Error ? err.message : String(err), hint: 'reload the page' };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}
