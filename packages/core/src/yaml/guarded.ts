import type { Result } from '../errors/index.ts';
import { MAX_POLICY_BYTES } from './limits.ts';

/**
 * The frame every YAML parser of failsmall shares (declarations, scenarios, estates): refuse a
 * file over the size limit before reading it, and turn the only exception pathological input
 * can still raise (nesting deep enough to exhaust the stack) into an error value.
 */
export function guardedParse<T>(text: string, o: { file?: string; what: string; sizeHint?: string }, parse: () => Result<T>): Result<T> {
  const file = o.file !== undefined ? { file: o.file } : {};
  if (o.sizeHint !== undefined) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_POLICY_BYTES) {
      return { ok: false, errors: [{ code: 'FILE_TOO_LARGE', message: `the file is ${bytes} bytes; the limit is ${MAX_POLICY_BYTES} bytes (1 MiB)`, hint: o.sizeHint, ...file }], warnings: [] };
    }
  }
  try {
    return parse();
  } catch (e) {
    const deep = e instanceof RangeError;
    return {
      ok: false,
      errors: [{
        code: deep ? 'YAML_SYNTAX' : 'INTERNAL_ERROR',
        message: deep ? 'the document is nested too deeply to read' : `the ${o.what} failed: ${e instanceof Error ? e.message : String(e)}`,
        ...file,
      }],
      warnings: [],
    };
  }
}
