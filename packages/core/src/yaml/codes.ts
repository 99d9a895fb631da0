/**
 * Every error code a failsmall YAML file can come back with, whichever parser reads it. It is
 * the one list: `YamlSource.error` accepts only these, and each parser's own list (the codes its
 * documentation explains) is built from it with `parserErrorCodes`, so no parser copies the
 * source's codes by hand or reports one the list does not know.
 */

/** What the source itself reports, for any document: syntax, aliases, size, keys and shapes. */
export const SOURCE_ERROR_CODES = [
  'YAML_SYNTAX', 'ALIAS_UNDEFINED', 'ALIAS_BOMB', 'FILE_TOO_LARGE', 'DUPLICATE_KEY', 'UNKNOWN_KEY', 'WRONG_TYPE', 'MISSING_KEY',
  'EMPTY_DOCUMENT', 'INTERNAL_ERROR',
] as const;

export const YAML_ERROR_CODES = [
  ...SOURCE_ERROR_CODES,
  // The field reader's typed reads: the right type but a value out of range, a duration, an enum.
  'BAD_VALUE', 'BAD_DURATION', 'BAD_ENUM',
  // Names and references.
  'BAD_NAME', 'DUPLICATE_NAME', 'UNKNOWN_MODULE', 'UNKNOWN_ARTIFACT', 'UNKNOWN_POLICY', 'UNKNOWN_METRIC', 'UNKNOWN_SERVICE', 'UNKNOWN_LABEL',
  'UNKNOWN_DEPENDENCY', 'UNKNOWN_VENDOR', 'UNKNOWN_TARGET',
  // Declarations (policies, modules, gates).
  'BAD_SCOPE', 'BAD_THRESHOLD', 'CONFLICTING_BOUNDS', 'CONFLICTING_KEYS', 'STAGE_SHRINKS', 'DUPLICATE_STAGE', 'DUPLICATE_GATE',
  'FAIL_CLOSED_NEEDS_REASON', 'UNKNOWN_PLACEHOLDER', 'BAD_QUERY', 'SIGNATURE_WITHOUT_DEFAULT', 'BAD_SIGNATURE',
  // Simulator and triage scenarios.
  'BAD_DISTRIBUTION', 'MODULE_NOT_LOADED', 'EVENT_TYPE',
  // Dependency graphs and version manifests.
  'DUPLICATE_DEPENDENCY', 'RECOVERS_ITSELF', 'TOO_MANY_DEPENDENCIES', 'TOO_LONG',
  // Break-glass inventories and scrape mappings.
  'BAD_ADDRESS', 'DUPLICATE_ADDRESS', 'BAD_SELECTOR',
] as const;

export type YamlErrorCode = (typeof YAML_ERROR_CODES)[number];

/**
 * One parser's codes: the source's, then its own (each must be in YAML_ERROR_CODES, or it
 * does not compile).
 *
 * Examples
 *   export const MANIFEST_ERROR_CODES = parserErrorCodes('BAD_NAME', 'DUPLICATE_DEPENDENCY');
 */
export function parserErrorCodes<const T extends readonly YamlErrorCode[]>(...own: T): readonly [...typeof SOURCE_ERROR_CODES, ...T] {
  return [...SOURCE_ERROR_CODES, ...own];
}

/** Whether `code` is in the one list. */
export function isYamlErrorCode(code: string): code is YamlErrorCode {
  return (YAML_ERROR_CODES as readonly string[]).includes(code);
}
