import { formatError, type FailsmallError } from '@failsmall/core';
import { CliError } from './client.ts';
import { EXIT } from './exit-codes.ts';

/** How every command prints: JSON to stdout with --json, plain lines otherwise; errors to stderr. */
export interface Out {
  readonly json: boolean;
  line(text: string): void;
  data(value: unknown): void;
}

export function makeOut(json: boolean): Out {
  return {
    json,
    line(text) { if (!json) process.stdout.write(`${text}\n`); },
    data(value) { if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`); },
  };
}

/** Prints an error the way the user can act on it, and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof CliError) {
    const errors = (err.details as { errors?: FailsmallError[] } | undefined)?.errors;
    if (json) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, hint: err.hint, ...(errors ? { errors } : {}) } }, null, 2)}\n`);
    } else if (errors && errors.length > 0) {
      for (const e of errors) process.stderr.write(`${formatError(e)}\n`);
    } else if (err.code === 'BAD_VALUE') {
      // One line per rejected field, already naming the field, the value and what is allowed (api-error.ts).
      for (const l of err.message.split('\n')) process.stderr.write(`failsmall: ${l}\n`);
    } else {
      process.stderr.write(`error: ${err.message} [${err.code}]\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
    }
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'INTERNAL', message } })}\n`);
  else process.stderr.write(`error: ${message}\n`);
  return EXIT.UNREACHABLE;
}
