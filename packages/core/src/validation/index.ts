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

/**
 * Entries: the length of a JSON array, the key count of a JSON object, otherwise one
 * entry per non-empty line that is not a `#` comment.
 *
 * Examples
 *   countEntries(Buffer.from('["a","b"]')) // 2
 *   countEntries(Buffer.from('a\n\n# c\nb\n')) // 2
 */
export function countEntries(content: Uint8Array): number {
  const text = Buffer.from(content).toString('utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed.length;
      if (parsed !== null && typeof parsed === 'object') return Object.keys(parsed).length;
    } catch {
      // not JSON after all: count lines
    }
  }
  let n = 0;
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l !== '' && !l.startsWith('#')) n++;
  }
  return n;
}

export function checkLimits(content: Uint8Array, v: ArtifactValidation): ContentProblem[] {
  const problems: ContentProblem[] = [];
  if (v.max_bytes !== undefined && content.byteLength > v.max_bytes) {
    problems.push({ code: 'MAX_BYTES', value: content.byteLength, limit: v.max_bytes, message: `${content.byteLength} bytes > max_bytes ${v.max_bytes}` });
  }
  if (v.max_entries !== undefined) {
    const entries = countEntries(content);
    if (entries > v.max_entries) problems.push({ code: 'MAX_ENTRIES', value: entries, limit: v.max_entries, message: `${entries} entries > max_entries ${v.max_entries}` });
  }
  return problems;
}
