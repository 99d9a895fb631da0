import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { FailsmallError } from '@failsmall/core';

/**
 * Every API error has one shape: `{ error: { code, message, hint?, details? } }` and an
 * HTTP status that fits. Handlers throw `ApiError` (or return it through `reply`); the
 * error handler below turns framework errors (bad JSON, schema, size) into the same shape,
 * so a client never sees a stack trace.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, hint?: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

export const notFound = (what: string, id: string, hint?: string) =>
  new ApiError(404, 'NOT_FOUND', `${what} ${JSON.stringify(id)} not found`, hint);

/** Many parser errors at once (a policy file with three mistakes gets all three). */
export function invalidDeclarations(errors: readonly FailsmallError[]) {
  const first = errors[0];
  return new ApiError(400, first?.code ?? 'INVALID', `${errors.length} error(s) in declarations${first ? `: ${first.message}` : ''}`, first?.hint, { errors });
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}`, hint: 'see docs/api.md' } });
  });
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), ...(err.details !== undefined ? { details: err.details } : {}) } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const input = validatedInput(req, err.validationContext);
      const issues = err.validation.map((v) => describeIssue(v, input));
      const first = issues[0];
      return reply.code(400).send({ error: { code: 'BAD_REQUEST', message: `invalid ${err.validationContext ?? 'request'}: ${first ? `${first.path} ${first.message}` : 'schema mismatch'}`, hint: 'see docs/api.md for the request schema', details: { issues } } });
    }
    const store = storeTrouble(err);
    if (store) {
      req.log.warn({ err, code: store.code }, store.message);
      return reply.code(store.status).send({ error: { code: store.code, message: store.message, hint: store.hint } });
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'internal error');
      return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error; see the server log', hint: 'this is a bug: please report it with the log line' } });
    }
    const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'PAYLOAD_TOO_LARGE'
      : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'UNSUPPORTED_MEDIA_TYPE'
      : err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError ? 'BAD_JSON'
      : 'BAD_REQUEST';
    return reply.code(status).send({ error: { code, message: err.message } });
  });
}

/** What a schema issue says, in fields a client can act on without parsing the message (docs/api.md). */
interface Issue {
  readonly path: string;
  readonly message: string;
  /** The field, dotted: `status`, `stages.0.name`. */
  readonly field: string;
  /** The values an enum accepts, when the field is one. */
  readonly allowed?: readonly (string | number | boolean | null)[];
  /** The rejected value, when it is a short primitive: the client names what it sent without keeping the request. */
  readonly value?: string | number | boolean | null;
}

function validatedInput(req: { body?: unknown; query?: unknown; params?: unknown }, context: string | undefined): unknown {
  return context === 'body' ? req.body : context === 'querystring' ? req.query : context === 'params' ? req.params : undefined; // never headers: no token is echoed
}

function describeIssue(v: { instancePath?: string; message?: string; params?: unknown }, input: unknown): Issue {
  const path = v.instancePath || '/';
  const segments = path.split('/').filter(Boolean);
  // zod's invalid_value issue (z.enum, z.literal) carries the accepted values; other issues carry none.
  const values = (v.params as { values?: unknown } | undefined)?.values;
  const allowed = Array.isArray(values) && values.every(isPrimitive) ? values : undefined;
  let at: unknown = input;
  for (const s of segments) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[s] : undefined;
  const value = isPrimitive(at) && (typeof at !== 'string' || at.length <= 200) ? at : undefined;
  return { path, message: v.message ?? 'invalid', field: segments.join('.'), ...(allowed ? { allowed } : {}), ...(value !== undefined ? { value } : {}) };
}

function isPrimitive(x: unknown): x is string | number | boolean | null {
  return x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
}

/**
 * The store refusing a write for a reason outside the request: a full volume (SQLite's
 * SQLITE_FULL, PostgreSQL's disk_full), or a database that cannot be reached. Each transaction
 * is all or nothing, so the answer can say that nothing was written, and what to do; these are
 * not bugs, and never a bare 500.
 */
export function storeTrouble(err: unknown): { status: number; code: string; message: string; hint: string } | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL' || code === '53100') {
    return {
      status: 507, code: 'STORE_FULL',
      message: 'the store\'s volume is full: this change was not written (nothing was half-written); reads still work',
      hint: 'free space on the volume that holds the store (failsmall serve --store), then retry: the control plane needs no restart',
    };
  }
  if (code === 'SQLITE_BUSY' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) || code === '57P01' || code === '57P03' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '08006' || code === '08001') {
    return {
      status: 503, code: 'STORE_UNAVAILABLE',
      message: `the store could not be reached (${String(code)}): this change was not written`,
      hint: 'retry in a few seconds; the control plane reconnects by itself (check the database, or the disk under SQLite)',
    };
  }
  return undefined;
}
