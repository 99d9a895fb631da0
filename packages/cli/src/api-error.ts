import { CliError } from './client.ts';
import { EXIT } from './exit-codes.ts';

/**
 * Where the token comes from (token-source.ts), named in every token refusal. The agent's
 * control-plane.ts holds the same words: importing them from @failsmall/agent would load the
 * agent into every CLI command.
 */
export const TOKEN_HINT = 'check FAILSMALL_TOKEN / FAILSMALL_TOKEN_FILE (or --token)';

/**
 * The 403s that are about the token (its role, the node it belongs to); a 403 such as
 * SELF_APPROVAL refuses the act, not the token, and keeps its own message and exit 1.
 */
const TOKEN_403 = new Set(['FORBIDDEN', 'NODE_BOUND', 'WRONG_NODE']);

interface ApiErrorBody { code?: string; message?: string; hint?: string; details?: unknown }
interface Issue { field?: string; path?: string; message?: string; allowed?: unknown[]; value?: unknown }

/**
 * An API error answer turned into the CLI's own words: a refused token is named as one (not as
 * "invalid input"), and a schema error names the field, what was sent and what is allowed, from
 * the issues the server lists (packages/server/src/http/errors.ts, docs/api.md) instead of
 * passing the validator's wording through.
 */
export function apiError(status: number, body: unknown): CliError {
  const e = (body as { error?: ApiErrorBody } | undefined)?.error;
  const code = e?.code ?? `HTTP_${status}`;
  const message = e?.message ?? `HTTP ${status}`;
  if (status === 401 || (status === 403 && TOKEN_403.has(code))) {
    return new CliError(code, `the token was refused: ${message}`, EXIT.TOKEN_REFUSED, e?.hint ? `${e.hint}; ${TOKEN_HINT}` : TOKEN_HINT);
  }
  const issues = (e?.details as { issues?: Issue[] } | undefined)?.issues;
  if (status === 400 && code === 'BAD_REQUEST' && Array.isArray(issues) && issues.length > 0) {
    return new CliError('BAD_VALUE', issues.map(badValue).join('\n'), EXIT.INVALID, undefined, e?.details);
  }
  return new CliError(code, message, status >= 500 ? EXIT.UNREACHABLE : EXIT.INVALID, e?.hint, e?.details);
}

/** `bad value for status: "closed" (allowed: open, investigating, mitigated, resolved)`. */
function badValue(i: Issue): string {
  const field = i.field || (i.path ?? '').replace(/^\//, '').replaceAll('/', '.') || 'the request';
  const sent = i.value !== undefined ? `: ${JSON.stringify(i.value)}` : '';
  const why = Array.isArray(i.allowed) && i.allowed.length > 0 ? `allowed: ${i.allowed.map(String).join(', ')}` : i.message ?? 'invalid';
  return `bad value for ${field}${sent} (${why})`;
}
