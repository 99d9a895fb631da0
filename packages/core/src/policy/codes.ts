/**
 * The codes every YAML file read through PolicySource and guardedParse can produce, whatever
 * it declares: the policy, graph, manifest and triage-scenario parsers all list them.
 */
export const SOURCE_ERROR_CODES = [
  'YAML_SYNTAX', 'ALIAS_UNDEFINED', 'ALIAS_BOMB', 'FILE_TOO_LARGE', 'DUPLICATE_KEY', 'UNKNOWN_KEY', 'WRONG_TYPE', 'MISSING_KEY',
  'EMPTY_DOCUMENT', 'INTERNAL_ERROR',
] as const;

/** Every code the policy parser can return, for docs, tests and API status mapping. */
export const POLICY_ERROR_CODES = [
  ...SOURCE_ERROR_CODES,
  'BAD_NAME',
  'BAD_DURATION',
  'BAD_SCOPE',
  'BAD_THRESHOLD',
  'CONFLICTING_BOUNDS',
  'CONFLICTING_KEYS',
  'UNKNOWN_MODULE',
  'UNKNOWN_METRIC',
  'UNKNOWN_ARTIFACT',
  'UNKNOWN_POLICY',
  'STAGE_SHRINKS',
  'DUPLICATE_STAGE',
  'DUPLICATE_GATE',
  'FAIL_CLOSED_NEEDS_REASON',
  'BAD_ENUM',
  'UNKNOWN_PLACEHOLDER',
  'BAD_QUERY',
] as const;

export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];

export const POLICY_WARNING_CODES = ['SINGLE_STAGE_GLOBAL', 'FAIL_CLOSED_NO_CANARY', 'NO_GATES', 'BAKE_SHORTER_THAN_INTERVAL', 'NO_ROLLBACK', 'BASELINE_GATE_FEW_NODES', 'BASELINE_GATE_NO_BASELINE'] as const;

export type PolicyWarningCode = (typeof POLICY_WARNING_CODES)[number];
