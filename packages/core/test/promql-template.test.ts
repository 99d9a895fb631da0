/**
 * PromQL query templates: the one implementation that the policy parser checks gates with and
 * the control plane fills for each stage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkGateQuery, checkQueryTemplate, DEFAULT_MAX_SELECTOR_BYTES, escapeRegex, nodeMatcher, parseDeclarations, renderQueryTemplate,
  type QueryVars,
} from '../src/index.ts';

describe('query templates', () => {
  const vars: QueryVars = { cohort: ['n1', 'n2', 'n3'], windowMs: 60_000, intervalMs: 10_000 };

  it('fills the cohort, the window and the interval', () => {
    const r = renderQueryTemplate('sum(rate(x{ {{cohort_selector}} }[{{window}}])) and on() vector(1) offset {{interval}}', vars);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.query, 'sum(rate(x{ node=~"n1|n2|n3" }[1m])) and on() vector(1) offset 10s');
    assert.deepEqual(r.placeholders, ['cohort_selector', 'window', 'interval']);
  });

  it('accepts a placeholder written inside the selector braces and with inner spaces', () => {
    const r = renderQueryTemplate('x{{{cohort_selector}}} + y{ {{ cohort_selector }} }', { ...vars, cohort: ['a'] });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.query, 'x{node=~"a"} + y{ node=~"a" }');
  });

  it('escapes regex metacharacters in node ids, so an id matches only itself', () => {
    const r = renderQueryTemplate('x{ {{cohort_selector}} }', { ...vars, cohort: ['edge-1.fra', 'db:2', 'odd(+)*?[x]{1}^$|\\'] });
    assert.ok(r.ok, JSON.stringify(r));
    // Regex `edge-1\.fra`, written in a PromQL string literal, doubles the backslash.
    assert.equal(r.query, String.raw`x{ node=~"edge-1\\.fra|db:2|odd\\(\\+\\)\\*\\?\\[x\\]\\{1\\}\\^\\$\\|\\\\" }`);
    const re = new RegExp(`^(?:${['edge-1.fra', 'odd(+)*?[x]{1}^$|\\'].map(escapeRegex).join('|')})$`);
    assert.ok(re.test('edge-1.fra') && re.test('odd(+)*?[x]{1}^$|\\'));
    assert.ok(!re.test('edge-1xfra'), 'a dot in an id is not a wildcard');
  });

  it('renders the baseline as every node outside the cohort, or as the list it is given', () => {
    const complement = renderQueryTemplate('x{ {{baseline_selector}} }', { ...vars, notBaseline: ['n9'] });
    assert.ok(complement.ok);
    assert.equal(complement.query, 'x{ node!~"n1|n2|n3|n9" }');
    const listed = renderQueryTemplate('x{ {{baseline_selector}} }', { ...vars, baseline: ['b1', 'b2'] });
    assert.ok(listed.ok);
    assert.equal(listed.query, 'x{ node=~"b1|b2" }');
    assert.equal(nodeMatcher([], { negate: true }), 'node!=""', 'an empty exclusion is every node that has a node label');
    assert.equal(nodeMatcher([]), 'node="__failsmall_no_node__"', 'an empty set matches nothing, not the series without the label');
  });

  it('uses another node label when the installation names it differently', () => {
    const r = renderQueryTemplate('x{ {{cohort_selector}} }', { ...vars, nodeLabel: 'host' });
    assert.ok(r.ok);
    assert.equal(r.query, 'x{ host=~"n1|n2|n3" }');
    const bad = renderQueryTemplate('x{ {{cohort_selector}} }', { ...vars, nodeLabel: 'host-name' });
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'BAD_LABEL_NAME');
  });

  it('reports an unknown placeholder by name, with where it is and the valid ones', () => {
    const check = checkQueryTemplate('sum(rate(x{ {{cohort}} }[{{window}}]))\n / sum(y{ {{baseline-selector}} })');
    assert.deepEqual(check.errors.map((e) => [e.code, e.placeholder, e.line, e.col]), [
      ['UNKNOWN_PLACEHOLDER', '{{cohort}}', 1, 13],
      ['UNKNOWN_PLACEHOLDER', '{{baseline-selector}}', 2, 11],
    ]);
    const first = check.errors[0];
    assert.ok(first);
    assert.match(first.message, /unknown placeholder \{\{cohort\}\}/);
    assert.match(first.message, /\{\{cohort_selector\}\}, \{\{baseline_selector\}\}, \{\{window\}\}, \{\{interval\}\}/);
    assert.equal(first.hint, 'did you mean {{cohort_selector}}?');
    assert.equal(check.errors[1]?.hint, 'did you mean {{baseline_selector}}?');
    const r = renderQueryTemplate('x{ {{cohort}} }', vars);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'UNKNOWN_PLACEHOLDER');
  });

  it('reports unbalanced braces and an empty query', () => {
    assert.deepEqual(checkQueryTemplate('x{ {{cohort_selector }').errors.map((e) => e.code), ['MALFORMED_PLACEHOLDER']);
    assert.deepEqual(checkQueryTemplate('   ').errors.map((e) => e.code), ['EMPTY_QUERY']);
    assert.deepEqual(checkQueryTemplate('sum(up)').errors, [], 'a query without placeholders is valid');
  });

  it('refuses an empty cohort, a bad duration and a selector over the size limit', () => {
    const empty = renderQueryTemplate('x{ {{cohort_selector}} }', { ...vars, cohort: [] });
    assert.ok(!empty.ok);
    assert.equal(empty.error.code, 'EMPTY_COHORT');
    const zero = renderQueryTemplate('rate(x[{{window}}])', { ...vars, windowMs: 0 });
    assert.ok(!zero.ok);
    assert.equal(zero.error.code, 'BAD_DURATION');
    const ms = renderQueryTemplate('rate(x[{{window}}])', { ...vars, windowMs: 1500 });
    assert.ok(ms.ok);
    assert.equal(ms.query, 'rate(x[1500ms])');
    const many = Array.from({ length: 10_000 }, (_, i) => `node-${String(i).padStart(5, '0')}`);
    const fits = renderQueryTemplate('x{ {{cohort_selector}} }', { ...vars, cohort: many });
    assert.ok(fits.ok, '10,000 ten-character ids fit under the default limit');
    assert.ok(fits.query.length < DEFAULT_MAX_SELECTOR_BYTES);
    const uuids = Array.from({ length: 10_000 }, (_, i) => `3f2b8c1e-1d2a-4c5b-9e8f-${String(i).padStart(12, '0')}`);
    assert.ok(renderQueryTemplate('x{ {{cohort_selector}} }', { ...vars, cohort: uuids }).ok, '10,000 UUIDs fit under the default limit');
    const tooLong = renderQueryTemplate('x{ {{cohort_selector}} }', { ...vars, cohort: many, maxSelectorBytes: 64 * 1024 });
    assert.ok(!tooLong.ok);
    assert.equal(tooLong.error.code, 'SELECTOR_TOO_LONG');
    assert.match(tooLong.error.message, /10000 nodes/);
  });
});

describe('gate queries in a policy', () => {
  const policy = (query: string): string => [
    'modules: { proxy: { on_load_failure: serve-stale } }',
    'artifacts: { proxy-config: { kind: config, module: proxy } }',
    'policies:',
    '  p:',
    '    artifact: proxy-config',
    '    stages:',
    '      - name: canary',
    '        scope: 1% nodes',
    '        health_gates:',
    `          - { module: proxy, source: prometheus, max: 0.01, query: ${JSON.stringify(query)} }`,
    '',
  ].join('\n');

  it('accepts what the control plane can render, and refuses what it cannot, at the query\'s line and column', () => {
    const good = 'sum(rate(x{ {{cohort_selector}} }[{{window}}])) / sum(rate(y{ {{ cohort_selector }} }[{{window}}]))';
    assert.deepEqual(checkGateQuery(good), []);
    assert.ok(renderQueryTemplate(good, { cohort: ['a'], windowMs: 60_000, intervalMs: 10_000 }).ok);
    assert.ok(parseDeclarations(policy(good)).ok);
    const cases: Array<[string, string[]]> = [
      ['sum(rate(x{ {{cohort_selector}} }[{{windw}}]))', ['UNKNOWN_PLACEHOLDER']],
      ['sum(rate(x{ {{cohort_selector }[1m]))', ['BAD_QUERY']],
      ['   ', ['BAD_QUERY']],
      ['sum(up)', ['BAD_QUERY']],
    ];
    for (const [query, codes] of cases) {
      assert.deepEqual(checkGateQuery(query).map((p) => p.code).filter((c, i, all) => all.indexOf(c) === i), codes, query);
      const r = parseDeclarations(policy(query), { file: 'p.yaml' });
      assert.ok(!r.ok, query);
      assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), [`${codes[0]}@10:68`], query);
    }
  });

  it('names the placeholder the user probably meant', () => {
    const [p] = checkGateQuery('x{ {{cohort_selector}} }[{{windw}}]');
    assert.equal(p?.hint, 'did you mean {{window}}?');
  });
});
