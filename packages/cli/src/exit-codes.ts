/** Exit codes of every failsmall command (documented in docs/cli.md). */
export const EXIT = {
  OK: 0,
  /** Invalid input: a policy error, a refused push, a refused command (the API said 4xx). */
  INVALID: 1,
  /** Wrong usage: unknown flag, missing argument. */
  USAGE: 2,
  /** The control plane could not be reached, or failed (5xx). */
  UNREACHABLE: 3,
  /** A watched rollout ended without completing (rolled back or aborted), or the demo's story went wrong. */
  ROLLOUT_FAILED: 4,
  /** A watched rollout is paused and waits for a human. */
  ROLLOUT_PAUSED: 5,
  /**
   * The control plane refused the token (401 or 403): wrong, expired, revoked, or without the role
   * the call needs. Not "unreachable": it answered. failsmall-agent exits with it instead of retrying.
   */
  TOKEN_REFUSED: 6,
} as const;
