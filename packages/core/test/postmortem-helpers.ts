import assert from 'node:assert/strict';

/** The markdown section of a draft that starts with `## title`, up to the next one. */
export function section(md: string, title: string): string {
  const start = md.indexOf(`## ${title}\n`);
  assert.ok(start >= 0, `no section ${title}`);
  const next = md.indexOf('\n## ', start + 3);
  return md.slice(start, next < 0 ? undefined : next);
}
