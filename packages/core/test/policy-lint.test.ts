import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lintDeclarations, parseDeclarations } from '../src/policy/index.ts';
import type { Declarations } from '../src/policy/index.ts';
import { KNOWN, yaml } from './policy-helpers.ts';

const GATE = '{ module: proxy, metric: error_rate, threshold: 0.01 }';

function warningsAt(text: string, known: Partial<Declarations> = KNOWN): string[] {
  const r = parseDeclarations(text, { known });
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
  return r.warnings.map((w) => `${w.code}@${w.line ?? '?'}:${w.col ?? '?'}`);
}

describe('lintDeclarations', () => {
  it('warns when a feature file goes to every node in a single stage', () => {
    assert.deepEqual(warningsAt(yaml(
      'artifacts:',
      '  f: { kind: feature-file, module: proxy, policy: yolo }',
      'policies:',
      '  yolo:',
      '    stages:',
      `      - { name: all, scope: all, health_gates: [${GATE}] }`,
    )), ['SINGLE_STAGE_GLOBAL@6:22']);
  });

  it('warns for a single global stage bound to no artifact, but not for code', () => {
    assert.deepEqual(warningsAt(yaml('policies:', '  p:', `    stages: [{ name: g, scope: 100% nodes, health_gates: [${GATE}] }]`)), ['SINGLE_STAGE_GLOBAL@3:25']);
    assert.deepEqual(warningsAt(yaml(
      'artifacts:',
      '  bin: { kind: code, module: proxy }',
      'policies:',
      `  p: { artifact: bin, stages: [{ name: g, scope: 100% nodes, health_gates: [${GATE}] }] }`,
    )), []);
  });

  it('warns when a fail-closed module\'s artifact starts bigger than a 1% canary', () => {
    assert.deepEqual(warningsAt(yaml(
      'modules:',
      '  auth: { on_load_failure: fail-closed, reason: "unauthenticated requests must not pass" }',
      'artifacts:',
      '  keys: { kind: config, module: auth }',
      'policies:',
      '  p:',
      '    artifact: keys',
      '    stages:',
      `      - { name: first, scope: 10% nodes, health_gates: [${GATE}] }`,
      `      - { name: all, scope: 100% nodes, health_gates: [${GATE}] }`,
    )), ['FAIL_CLOSED_NO_CANARY@9:24']);
  });

  it('does not warn when a fail-closed module\'s artifact starts at 1% or at a node count', () => {
    const text = (first: string): string => yaml(
      'modules:',
      '  auth: { on_load_failure: fail-closed, reason: "unauthenticated requests must not pass" }',
      'artifacts:',
      '  keys: { kind: config, module: auth, policy: p }',
      'policies:',
      '  p:',
      '    stages:',
      `      - { name: first, scope: ${first}, health_gates: [${GATE}] }`,
      `      - { name: all, scope: 100% nodes, health_gates: [${GATE}] }`,
    );
    assert.deepEqual(warningsAt(text('1% nodes')), []);
    assert.deepEqual(warningsAt(text('3 nodes')), []);
  });

  it('warns about a stage without health gates', () => {
    assert.deepEqual(warningsAt(yaml('policies:', '  p:', '    stages:', '      - name: canary', '        scope: 1%', `      - { name: g, scope: 100%, health_gates: [${GATE}] }`)),
      ['NO_GATES@4:9']);
  });

  it('warns when bake is shorter than the evaluation interval', () => {
    assert.deepEqual(warningsAt(yaml('policies:', '  p:', '    interval: 30s', '    bake: 10s', '    stages:', `      - { name: c, scope: 1%, health_gates: [${GATE}] }`)),
      ['BAKE_SHORTER_THAN_INTERVAL@4:5']);
  });

  it('warns when a stage does not roll back on failure', () => {
    assert.deepEqual(warningsAt(yaml('policies:', '  p:', '    stages:', `      - { name: c, scope: 1%, rollback_on_failure: false, health_gates: [${GATE}] }`)),
      ['NO_ROLLBACK@4:31']);
  });

  it('works on plain declarations without positions', () => {
    const d: Declarations = {
      modules: [],
      artifacts: [],
      policies: [{
        name: 'p',
        stages: [{
          name: 's', scope: { type: 'percent', percent: 100, selector: [], text: 'all' }, health_gates: [], rollback_on_failure: false,
          bake_ms: 1000, interval_ms: 5000, load_timeout_ms: 1000, max_extension_ms: 2000, on_inconclusive: 'pause', manual_approval: false,
        }],
      }],
    };
    assert.deepEqual(lintDeclarations(d).map((w) => [w.code, w.severity, w.path]), [
      ['SINGLE_STAGE_GLOBAL', 'warning', 'policies.p.stages[0].scope'],
      ['NO_GATES', 'warning', 'policies.p.stages[0]'],
      ['BAKE_SHORTER_THAN_INTERVAL', 'warning', 'policies.p.stages[0].bake'],
      ['NO_ROLLBACK', 'warning', 'policies.p.stages[0].rollback_on_failure'],
    ]);
  });

  it('points warnings about the deployment: form at the deployment block', () => {
    const r = parseDeclarations(yaml('deployment:', '  name: d', '  stages:', '    - { name: g, scope: all }'), { known: KNOWN });
    assert.ok(r.ok);
    assert.deepEqual(r.warnings.map((w) => [w.code, w.path, w.line, w.col]), [
      ['NO_GATES', 'deployment.stages[0]', 4, 7],
      ['SINGLE_STAGE_GLOBAL', 'deployment.stages[0].scope', 4, 18],
    ]);
  });

  it('warns about compare: baseline gates that cannot decide: one node, or no baseline left; a holdback keeps one', () => {
    const BASE = '{ module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 20% }';
    assert.deepEqual(warningsAt(yaml(
      'policies:',
      '  p:',
      '    stages:',
      `      - { name: canary, scope: 1 nodes, health_gates: [${BASE}] }`,
      `      - { name: global, scope: 100% nodes, health_gates: [${BASE}] }`,
    )), ['BASELINE_GATE_FEW_NODES@4:25', 'BASELINE_GATE_NO_BASELINE@5:25']);
    assert.deepEqual(warningsAt(yaml(
      'policies:',
      '  p:',
      '    stages:',
      `      - { name: canary, scope: 2 nodes, health_gates: [${BASE}] }`,
      `      - { name: global, scope: 100% nodes, health_gates: [${BASE}] }`,
      '    holdback: { scope: 1 nodes, for: 1h }',
    )), []);
  });
});
