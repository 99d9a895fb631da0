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

/**
 * How deeply collections may nest. A real file needs fewer than ten levels; composing a
 * deeper one recurses in `yaml` close to the stack limit, where V8 may abort the process.
 */
export const MAX_NESTING = 256;

/** Syntax errors reported for one file; past these, the file is not YAML and more would not help. */
export const MAX_YAML_ERRORS = 100;
