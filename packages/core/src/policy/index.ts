/**
 * Policies and declarations: parse a YAML declarations file into plain data, with
 * line-and-column errors and lint warnings.
 */
export * from './types.ts';
export * from './metrics.ts';
export { parseDeclarations, POLICY_DEFAULTS, ON_LOAD_FAILURE, ARTIFACT_KINDS, ON_INCONCLUSIVE, APPROVALS } from './parse.ts';
export type { ParseOptions } from './parse.ts';
export { lintDeclarations } from './lint.ts';
export { MAX_POLICY_BYTES, MAX_EXPANDED_NODES, MAX_ALIAS_COUNT } from './limits.ts';
export { guardedParse } from './guarded.ts';
export { parseScope, parseScopeSize, formatScope, coversEverything } from './scope.ts';
export type { ScopeParse, ScopeSize } from './scope.ts';
export { POLICY_ERROR_CODES, POLICY_WARNING_CODES, SOURCE_ERROR_CODES } from './codes.ts';
export type { PolicyErrorCode, PolicyWarningCode } from './codes.ts';
// The YAML reader behind parseDeclarations, for other documents that want the same
// line:col errors and did-you-mean hints (the simulator's scenario files).
export { PolicySource, describe as describeNode, joinPath } from './source.ts';
export type { Entry as SourceEntry, Position as SourcePosition } from './source.ts';
export { didYouMean, suggest } from './suggest.ts';
