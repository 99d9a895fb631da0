import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { badRolloutFacts, NOV18_CANARY } from '../../sim/src/postmortem-facts.ts';
import type { PostmortemFacts } from '../src/postmortem/index.ts';
import { FINDING_CODES, POSTMORTEM_JSON_SCHEMA, postmortemData, renderPostmortem } from '../src/postmortem/index.ts';

const root = new URL('../../../', import.meta.url);
const markdown = readFileSync(new URL('docs/postmortem.md', root), 'utf8');
const factsText = readFileSync(new URL('examples/postmortem/facts.json', root), 'utf8');

/** The fenced block after `<!-- postmortem-example: NAME -->`. */
function example(name: string): string {
  const m = new RegExp(`<!-- postmortem-example: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\`\\n`).exec(markdown);
  assert.ok(m, `no example block ${name}`);
  return m[1] ?? '';
}

/** The lines of the doc's section `## title`. */
function section(title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `no section ${title}`);
  const next = markdown.indexOf('\n## ', start + 4);
  return markdown.slice(start, next < 0 ? undefined : next);
}

/** Every field path of a JSON Schema, arrays as `[]`: `impact.by_tier[].tier`. */
function schemaPaths(schema: unknown, prefix = ''): string[] {
  if (schema === null || typeof schema !== 'object') return [];
  const s = schema as { properties?: Record<string, unknown>; items?: unknown; anyOf?: unknown[] };
  if (s.anyOf) return s.anyOf.flatMap((x) => schemaPaths(x, prefix));
  if (s.items) return schemaPaths(s.items, prefix);
  return Object.entries(s.properties ?? {}).flatMap(([key, sub]) => {
    const path = `${prefix}${prefix === '' ? '' : '.'}${key}`;
    const isList = typeof sub === 'object' && sub !== null && ((sub as { type?: unknown }).type === 'array');
    const here = isList ? `${path}[]` : path;
    return [here, ...schemaPaths(sub, here)];
  });
}

/** Every key name in the example facts, but the tier maps' keys, the timeline's `data` and the verdict's fields. */
function factKeys(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) factKeys(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      if (k === 'data' || k === 'failed_gate') continue;
      if (k === 'by_tier') for (const c of Object.values(v as object)) factKeys(c, out);
      else if (k !== 'nodes_total_by_tier' && k !== 'customers_total_by_tier') factKeys(v, out);
    }
  }
  return out;
}

describe('docs/postmortem.md', () => {
  const facts = JSON.parse(factsText) as PostmortemFacts;

  it('its example facts are the simulated 18 November canary', () => {
    assert.deepEqual(facts, JSON.parse(JSON.stringify(badRolloutFacts(NOV18_CANARY))));
  });

  it('shows the internal draft the code renders from the example facts', () => {
    assert.equal(example('internal'), renderPostmortem(facts, { audience: 'internal' }));
  });

  it('shows the public draft the code renders from the example facts', () => {
    assert.equal(example('public'), renderPostmortem(facts, { audience: 'public' }));
  });

  it('shows the JSON export the code computes from the example facts', () => {
    const { impact, detection, findings } = postmortemData(facts);
    assert.deepEqual(JSON.parse(example('json')), { impact, detection, findings });
  });

  it('documents every field of the JSON export, and no other', () => {
    const documented = section('The JSON export').split('\n').flatMap((l) => /^\| `([^`]+)` \|/.exec(l)?.[1] ?? []);
    assert.deepEqual([...documented].sort(), schemaPaths(POSTMORTEM_JSON_SCHEMA).sort());
  });

  it('documents every fact field and every finding code', () => {
    const text = section('The facts (`PostmortemFacts`)');
    for (const key of factKeys(facts)) assert.ok(text.includes(`\`${key}`) || text.includes(`.${key}`), `fact field ${key} is not documented`);
    assert.ok(text.includes('customers_with_errors'));
    for (const code of FINDING_CODES) assert.ok(section('Findings and action items').includes(`| \`${code}\` |`), `${code} is not documented`);
  });
});
