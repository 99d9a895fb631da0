import { parseDeclarations } from '../src/policy/index.ts';
import type { Declarations, ParseOptions } from '../src/policy/index.ts';

/** Modules most snippets gate on, passed as `known` so each snippet stays short. */
export const KNOWN: Partial<Declarations> = {
  modules: [
    { name: 'bot-management', on_load_failure: 'serve-stale' },
    { name: 'proxy', on_load_failure: 'serve-stale' },
  ],
};

/** Joins lines, so that a test can count the line numbers it asserts. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** `CODE@line:col` for every error, in order. */
export function errorsAt(text: string, opts: ParseOptions = { known: KNOWN }): string[] {
  const r = parseDeclarations(text, opts);
  return r.ok ? [] : r.errors.map((e) => `${e.code}@${e.line ?? '?'}:${e.col ?? '?'}`);
}

export function codes(text: string, opts: ParseOptions = { known: KNOWN }): string[] {
  const r = parseDeclarations(text, opts);
  return r.ok ? [] : r.errors.map((e) => e.code);
}

export function parseOk(text: string, opts: ParseOptions = { known: KNOWN }): Declarations {
  const r = parseDeclarations(text, opts);
  if (!r.ok) throw new Error(`expected no errors, got:\n${r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n')}`);
  return r.value;
}
