import { parserErrorCodes } from '../yaml/codes.ts';

/** Every code the policy parser can return, for docs, tests and API status mapping. */
export const POLICY_ERROR_CODES = parserErrorCodes(
  'BAD_NAME',
  'BAD_VALUE',
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
  'SIGNATURE_WITHOUT_DEFAULT',
  'BAD_SIGNATURE',
);

export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];

export const POLICY_WARNING_CODES = ['SINGLE_STAGE_GLOBAL', 'FAIL_CLOSED_NO_CANARY', 'NO_GATES', 'BAKE_SHORTER_THAN_INTERVAL', 'NO_ROLLBACK', 'BASELINE_GATE_FEW_NODES', 'BASELINE_GATE_NO_BASELINE'] as const;

export type PolicyWarningCode = (typeof POLICY_WARNING_CODES)[number];
