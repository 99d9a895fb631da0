/**
 * The one reading layer under every YAML file failsmall reads: the source (positions, aliases,
 * merge keys, limits), the field reader (typed reads with line:col errors), the error order,
 * and the one list of error codes.
 */
export { YamlSource, describe as describeNode, joinPath, valueNode, isNodeLike } from './source.ts';
export type { Entry as SourceEntry, Position as SourcePosition, Load as SourceLoad } from './source.ts';
export { FieldReader, type NumberBounds } from './fields.ts';
export { sortErrors } from './sort-errors.ts';
export { SOURCE_ERROR_CODES, YAML_ERROR_CODES, parserErrorCodes, isYamlErrorCode, type YamlErrorCode } from './codes.ts';
export { guardedParse } from './guarded.ts';
export { MAX_POLICY_BYTES, MAX_EXPANDED_NODES, MAX_ALIAS_COUNT } from './limits.ts';
export { didYouMean, suggest } from './suggest.ts';
