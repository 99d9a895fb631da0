/**
 * Hard limits on a declarations file. They bound the work the parser does on hostile
 * input, so that a bad file gives an error instead of a hang or an out-of-memory.
 */

/** Files larger than this are refused before they are parsed (1 MiB). */
export const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * How many nodes the document may hold once every alias is expanded. An alias bomb
 * ("billion laughs") expands a few lines into millions of nodes; this stops it early.
 */
export const MAX_EXPANDED_NODES = 100_000;

/** Passed to `yaml` as `maxAliasCount`, for any caller that converts the document with `toJS`. */
export const MAX_ALIAS_COUNT = 100;
