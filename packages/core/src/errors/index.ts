/**
 * Errors are values with a code. A user mistake never becomes a stack trace:
 * parsers return `FailsmallError[]`, the CLI prints them as `file:line:col: message`,
 * and the API returns them as JSON with the same code.
 */
export interface FailsmallError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  /** Path inside the document, e.g. `policies.hot-path.stages[1].scope`. */
  readonly path?: string;
}

export interface Warning extends FailsmallError {
  readonly severity: 'warning';
}

export type Result<T, E = FailsmallError[]> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly Warning[] }
  | { readonly ok: false; readonly errors: E; readonly warnings: readonly Warning[] };

/** `file:line:col: message [CODE]` followed by an indented hint, the format every CLI command prints. */
export function formatError(e: FailsmallError): string {
  const where = [e.file, e.line, e.col].filter((p) => p !== undefined).join(':');
  const head = `${where ? `${where}: ` : ''}${'severity' in e ? 'warning: ' : ''}${e.message} [${e.code}]`;
  return e.hint ? `${head}\n  hint: ${e.hint}` : head;
}

export function failsmallError(code: string, message: string, extra: Partial<FailsmallError> = {}): FailsmallError {
  return { code, message, ...extra };
}
