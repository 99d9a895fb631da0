/**
 * Policies and declarations: parse a YAML declarations file into plain data, with
 * line-and-column errors and lint warnings.
 */
export * from './types.ts';
export * from './metrics.ts';
export { parseDeclarations, POLICY_DEFAULTS, ON_LOAD_FAILURE, ARTIFACT_KINDS, ON_INCONCLUSIVE, APPROVALS } from './parse.ts';
export type { ParseOptions } from './parse.ts';
export { lintDeclarations } from './lint.ts';
export { parseScope, parseScopeSize, formatScope, coversEverything } from './scope.ts';
export type { ScopeParse, ScopeSize } from './scope.ts';
export { POLICY_ERROR_CODES, POLICY_WARNING_CODES } from './codes.ts';
export type { PolicyErrorCode, PolicyWarningCode } from './codes.ts';
