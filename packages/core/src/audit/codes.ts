import { parserErrorCodes } from '../yaml/codes.ts';

/** Every error code the graph-file parser can return, for docs and tests. */
export const AUDIT_ERROR_CODES = parserErrorCodes(
  'BAD_NAME',
  'BAD_ENUM',
  'DUPLICATE_NAME',
  'DUPLICATE_DEPENDENCY',
  'UNKNOWN_SERVICE',
  'RECOVERS_ITSELF',
);

export type AuditErrorCode = (typeof AUDIT_ERROR_CODES)[number];

/** Warnings: the file is read, but something in it is probably not what was meant. */
export const AUDIT_WARNING_CODES = ['FALLBACK_ON_HARD_EDGE', 'UNUSUAL_FATE_LABEL', 'NOTHING_RECOVERED'] as const;

export type AuditWarningCode = (typeof AUDIT_WARNING_CODES)[number];
