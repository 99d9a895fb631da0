/**
 * The one name rule for everything that becomes a key or a file name somewhere: artifacts,
 * modules, versions, policies, stages. The control plane checks it at apply, push and
 * registration, and the agent checks it again on what it is sent, so a name the server accepts
 * is always a name every agent accepts (a 129-character name once made agents refuse a whole
 * desired state, rollbacks included).
 *
 * Why this alphabet: a name is used as a file name on nodes (so no "/", and no leading "." that
 * would reach the agent's own dot-files), inside cache keys and lists joined with "," or "|"
 * (so none of those), and in URLs and shell-free argv (so nothing that needs quoting).
 */
export const NAME_MAX_CHARS = 128;
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const NAME_HINT = `names are 1-${NAME_MAX_CHARS} letters, digits, ".", "_" and "-", and start with a letter or digit`;

/** Node ids may also hold ":" (host:port style ids), and otherwise follow the name rule. */
export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const NODE_ID_HINT = `node ids are 1-${NAME_MAX_CHARS} letters, digits, ".", "_", ":" and "-", and start with a letter or digit`;

export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && NODE_ID.test(value);
}

/** Why `value` is not a name, in words for an error message; undefined when it is one. */
export function nameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `expected a name, got ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'the name is empty';
  if (value.length > NAME_MAX_CHARS) return `the name has ${value.length} characters, more than ${NAME_MAX_CHARS}`;
  if (!/^[A-Za-z0-9]/.test(value)) return `the name starts with ${JSON.stringify(value[0])}`;
  const bad = [...value].find((c) => !/[A-Za-z0-9._-]/.test(c));
  return bad === undefined ? undefined : `the name holds ${JSON.stringify(bad)}`;
}
