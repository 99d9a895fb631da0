import type { ArtifactValidation } from '../policy/types.ts';

/**
 * The declared limits of an artifact, checked on push by the server and again by every
 * agent before apply: a generated file is user input. (JSON Schema and custom commands
 * are the safe loader's, in the agent; they need ajv and a process.)
 */
export interface ContentProblem {
  readonly code: 'MAX_BYTES' | 'MAX_ENTRIES';
  readonly message: string;
  readonly value: number;
  readonly limit: number;
}

/** A file read once: its text, and its JSON value when it is JSON (parsed at most once per check). */
export interface ContentView {
  readonly text: string;
  /** Present when the text parsed as JSON. */
  readonly json?: { readonly value: unknown };
  /** Why it is not JSON, when it looked like JSON ({ or [) but did not parse. */
  readonly jsonError?: string;
}

export function viewContent(content: Uint8Array): ContentView {
  const text = Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8');
  const first = /\S/.exec(text)?.[0];
  if (first !== '[' && first !== '{') return { text };
  try {
    return { text, json: { value: JSON.parse(text) as unknown } };
  } catch (err) {
    return { text, jsonError: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Entries: the length of a JSON array, the key count of a JSON object, otherwise one
 * entry per non-empty line that is not a `#` comment.
 *
 * Examples
 *   countEntries(Buffer.from('["a","b"]')) // 2
 *   countEntries(Buffer.from('a\n\n# c\nb\n')) // 2
 */
export function countEntries(content: Uint8Array | ContentView): number {
  const view = content instanceof Uint8Array ? viewContent(content) : content;
  const value = view.json?.value;
  if (Array.isArray(value)) return value.length;
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  let n = 0;
  for (const line of view.text.split('\n')) {
    const l = line.trim();
    if (l !== '' && !l.startsWith('#')) n++;
  }
  return n;
}

export function checkLimits(content: Uint8Array, v: ArtifactValidation, view?: ContentView): ContentProblem[] {
  const problems: ContentProblem[] = [];
  if (v.max_bytes !== undefined && content.byteLength > v.max_bytes) {
    problems.push({ code: 'MAX_BYTES', value: content.byteLength, limit: v.max_bytes, message: `${content.byteLength} bytes > max_bytes ${v.max_bytes}` });
  }
  if (v.max_entries !== undefined) {
    const entries = countEntries(view ?? content);
    if (entries > v.max_entries) problems.push({ code: 'MAX_ENTRIES', value: entries, limit: v.max_entries, message: `${entries} entries > max_entries ${v.max_entries}` });
  }
  return problems;
}
