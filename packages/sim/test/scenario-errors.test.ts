import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { FailsmallError } from '@failsmall/core';
import { parseScenario, SCENARIO_ERROR_CODES } from '../src/index.ts';
import { breakLine, onlyError, root } from './helpers.ts';

const base = readFileSync(new URL('examples/scenarios/dec05-killswitch.yaml', root), 'utf8');

/** The shipped dec05 scenario with one line replaced; returns the errors and the line number changed. */
const broken = (find: string, replace: string) => breakLine(base, find, replace, (text) => parseScenario(text, { file: 'dec05.yaml' }));
const only = (errors: readonly FailsmallError[], code: string) => onlyError(errors, code, 'dec05.yaml');

describe('scenario errors point at file:line:col with a hint', () => {
  it('parses the shipped scenario cleanly', () => {
    const r = parseScenario(base, { file: 'dec05.yaml' });
    assert.ok(r.ok);
    assert.equal(r.value.fleet.nodes, 10000);
    assert.equal(r.value.policy.name, 'config-flip');
    assert.equal(r.value.artifact.name, 'waf-global-config');
  });

  it('reports an unknown top-level key with a did-you-mean', () => {
    const { errors, line } = broken('propagation: 2s', 'propogation: 2s');
    const e = only(errors, 'UNKNOWN_KEY');
    assert.equal(e.line, line);
    assert.equal(e.col, 1);
    assert.match(e.hint ?? '', /did you mean "propagation"/);
  });

  it('reports an unknown nested key (traffic) with a did-you-mean', () => {
    const { errors, line } = broken('rps_per_node: 100', 'rps_per_nodes: 100');
    const e = only(errors, 'UNKNOWN_KEY');
    assert.equal(e.line, line);
    assert.match(e.hint ?? '', /rps_per_node/);
  });

  it('refuses a duration without a unit', () => {
    const { errors, line } = broken('duration: 40m', 'duration: 40');
    const e = only(errors, 'BAD_DURATION');
    assert.equal(e.line, line);
    assert.equal(e.col, 11);
    assert.match(e.hint ?? '', /40s|40m/);
  });

  it('refuses a malformed duration', () => {
    const { errors } = broken('- at: 5m', '- at: 5 minutes');
    only(errors, 'BAD_DURATION');
  });

  it('refuses label shares that do not sum to 1', () => {
    const { errors, line } = broken('proxy: { fl2: 0.72, fl1: 0.28 }', 'proxy: { fl2: 0.72, fl1: 0.38 }');
    const e = only(errors, 'BAD_DISTRIBUTION');
    assert.equal(e.line, line);
    assert.match(e.message, /sum to 1\.1/);
  });

  it('refuses behaviour for a module that is not declared', () => {
    const lines = base.split('\n');
    const behaviourLine = lines.findIndex((l) => l.startsWith('behaviour:')) + 2;
    const r = parseScenario(lines.map((l, i) => (i + 1 === behaviourLine ? l.replace('waf:', 'wa:') : l)).join('\n'), { file: 'dec05.yaml' });
    assert.equal(r.ok, false);
    const e = only(r.ok ? [] : r.errors, 'UNKNOWN_MODULE');
    assert.equal(e.line, behaviourLine);
    assert.equal(e.col, 3);
    assert.match(e.hint ?? '', /did you mean "waf"/);
  });

  it('refuses behaviour for a declared module that does not load the artifact', () => {
    const lines = base.split('\n');
    const at = lines.findIndex((l) => l.startsWith('behaviour:')) + 2;
    const r = parseScenario(lines.map((l, i) => (i + 1 === at ? l.replace('waf:', 'proxy:') : l)).join('\n'));
    assert.equal(r.ok, false);
    only(r.ok ? [] : r.errors.map((e) => ({ ...e, file: 'dec05.yaml' })), 'MODULE_NOT_LOADED');
  });

  it('refuses a where: label the fleet does not have', () => {
    const { errors } = broken('where: { proxy: fl1 }', 'where: { proxy: fl3 }');
    const e = only(errors, 'UNKNOWN_LABEL');
    assert.match(e.hint ?? '', /fl1|fl2/);
  });

  it('refuses an unknown effect', () => {
    const { errors } = broken('      effect: request_errors', '      effect: request_eror');
    const e = only(errors, 'BAD_ENUM');
    assert.match(e.hint ?? '', /did you mean "request_errors"/);
  });

  it('refuses a change of an undeclared artifact', () => {
    const text = base.replace('change:\n  artifact: waf-global-config', 'change:\n  artifact: waf-global-confg');
    const r = parseScenario(text, { file: 'dec05.yaml' });
    const e = only(r.ok ? [] : r.errors, 'UNKNOWN_ARTIFACT');
    assert.equal(e.line, text.split('\n').indexOf('  artifact: waf-global-confg') + 1);
    assert.match(e.hint ?? '', /waf-global-config/);
  });

  it('refuses an unknown policy', () => {
    const r = parseScenario(`${base}\npolicy: config-flp\n`, { file: 'dec05.yaml' });
    assert.equal(r.ok, false);
    const e = only(r.ok ? [] : r.errors, 'UNKNOWN_POLICY');
    assert.match(e.hint ?? '', /config-flip/);
  });

  it('passes the policy parser\'s errors through with their real line and column', () => {
    const { errors, line } = broken('threshold: 0.999, window: 60s', 'threshold: 0.999, window: 60');
    const e = only(errors, 'BAD_DURATION');
    assert.equal(e.line, line);
    assert.ok((e.col ?? 0) > 40);
  });

  it('refuses a wrong type', () => {
    const { errors } = broken('nodes: 10000', 'nodes: many');
    only(errors, 'WRONG_TYPE');
  });

  it('refuses a push after the end of the scenario', () => {
    const { errors } = broken('- at: 5m', '- at: 50m');
    only(errors, 'BAD_VALUE');
  });

  it('reports a missing required key at the top', () => {
    const r = parseScenario(base.replace(/^fleet:[\s\S]*?\n\n/m, ''), { file: 'dec05.yaml' });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors.some((e) => e.code === 'MISSING_KEY' && /fleet/.test(e.message)));
  });

  it('reports YAML syntax errors with a position', () => {
    const r = parseScenario('name: x\nfleet: { nodes: 10\n', { file: 'bad.yaml' });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors[0]?.code === 'YAML_SYNTAX' && r.errors[0].line !== undefined);
  });
});

describe('scenario error codes come from the one list', () => {
  it('reports an undefined alias and an alias bomb with codes its list names (they were missing from the hand-copied one)', () => {
    const undefinedAlias = parseScenario(base.replace('propagation: 2s', 'propagation: *nope'), { file: 'dec05.yaml' });
    assert.ok(!undefinedAlias.ok);
    const alias = undefinedAlias.errors.find((e) => e.code === 'ALIAS_UNDEFINED');
    assert.ok(alias, JSON.stringify(undefinedAlias.errors));
    assert.equal(alias.file, 'dec05.yaml');
    assert.equal(alias.line, base.split('\n').findIndex((l) => l.startsWith('propagation: 2s')) + 1);
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((n, i) => `${n}: &${n} [${new Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)];
    const bomb = parseScenario(`${levels.join('\n')}\n${base}`, { file: 'dec05.yaml' });
    assert.ok(!bomb.ok);
    assert.deepEqual(bomb.errors.map((e) => e.code), ['ALIAS_BOMB']);
    const known = new Set<string>(SCENARIO_ERROR_CODES);
    for (const code of ['ALIAS_UNDEFINED', 'ALIAS_BOMB']) assert.ok(known.has(code), `${code} is not in SCENARIO_ERROR_CODES`);
    for (const e of [...undefinedAlias.errors, ...bomb.errors]) assert.ok(known.has(e.code), e.code);
  });
});
