/**
 * JSON with object keys sorted at every depth and `undefined` members dropped, so that two
 * equal values always give the same text and "did this declaration change?" is a string compare.
 *
 * Examples
 * ```ts
 * canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } }) // '{"a":{"d":[2,1]},"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isPlainObject(value)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = value[key];
      if (member !== undefined) sorted[key] = sortKeys(member);
    }
    return sorted;
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}
