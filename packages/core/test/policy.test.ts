import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatError } from '../src/errors/index.ts';
import { MAX_EXPANDED_NODES, MAX_POLICY_BYTES, parseDeclarations } from '../src/index.ts';
import { codes, errorsAt, KNOWN, parseOk, yaml } from './policy-helpers.ts';

const examples = new URL('../../../examples/', import.meta.url);
const example = (name: string): string => readFileSync(new URL(name, examples), 'utf8');

describe('parseDeclarations: a valid file', () => {
  it('reads a full declarations file with every default made explicit', () => {
    const d = parseOk(yaml(
      'modules:',
      '  bot-management: { on_load_failure: serve-stale }',
      '  proxy: { on_load_failure: fail-closed, reason: "blocks unauthenticated requests" }',
      '  waf: { on_load_failure: fail-open, safe_default: "log-only" }',
      'artifacts:',
      '  bot-management-feature-file:',
      '    kind: feature-file',
      '    module: bot-management',
      '    policy: hot-path-config',
      '    validation: { max_bytes: 1048576, max_entries: 200, command: "./check.sh", timeout: 5s, json_schema: { type: object } }',
      'policies:',
      '  hot-path-config:',
      '    artifact: bot-management-feature-file',
      '    stages:',
      '      - name: canary',
      '        scope: 1% nodes',
      '        health_gates:',
      '          - { module: bot-management, metric: load_success_rate, threshold: 0.999 }',
    ), {});
    assert.deepEqual(d, {
      modules: [
        { name: 'bot-management', on_load_failure: 'serve-stale' },
        { name: 'proxy', on_load_failure: 'fail-closed', reason: 'blocks unauthenticated requests' },
        { name: 'waf', on_load_failure: 'fail-open', safe_default: 'log-only' },
      ],
      artifacts: [{
        name: 'bot-management-feature-file',
        kind: 'feature-file',
        module: 'bot-management',
        policy: 'hot-path-config',
        validation: { max_bytes: 1048576, max_entries: 200, command: './check.sh', timeout_ms: 5000, json_schema: { type: 'object' } },
      }],
      policies: [{
        name: 'hot-path-config',
        artifact: 'bot-management-feature-file',
        stages: [{
          name: 'canary',
          scope: { type: 'percent', percent: 1, selector: [], text: '1% nodes' },
          health_gates: [{
            name: 'bot-management/load_success_rate',
            module: 'bot-management',
            metric: 'load_success_rate',
            direction: 'min',
            threshold: 0.999,
            window_ms: 60_000,
            min_samples: 1,
            min_coverage: 1,
          }],
          rollback_on_failure: true,
          bake_ms: 60_000,
          interval_ms: 10_000,
          load_timeout_ms: 30_000,
          max_extension_ms: 120_000,
          on_inconclusive: 'pause',
          manual_approval: false,
        }],
      }],
    });
  });

  it('applies policy-level timings to every stage, and lets a stage override them', () => {
    const d = parseOk(yaml(
      'policies:',
      '  p:',
      '    interval: 5s',
      '    bake: 30s',
      '    load_timeout: 10s',
      '    on_inconclusive: rollback',
      '    rollback_on_failure: true',
      '    stages:',
      '      - { name: canary, scope: 1%, health_gates: [{ module: proxy, metric: error_rate, threshold: 0.01 }] }',
      '      - { name: global, scope: all, bake: 2m, max_extension: 1m, on_inconclusive: pause, health_gates: [{ module: proxy, metric: error_rate, threshold: 0.01 }] }',
    ));
    const [canary, global] = d.policies[0]?.stages ?? [];
    assert.deepEqual(
      [canary?.interval_ms, canary?.bake_ms, canary?.load_timeout_ms, canary?.max_extension_ms, canary?.on_inconclusive],
      [5000, 30_000, 10_000, 60_000, 'rollback'],
    );
    assert.deepEqual(
      [global?.interval_ms, global?.bake_ms, global?.max_extension_ms, global?.on_inconclusive, global?.scope.text],
      [5000, 120_000, 60_000, 'pause', 'all'],
    );
  });

  it('derives gate direction from the metric catalog and accepts explicit min:/max:', () => {
    const d = parseOk(yaml(
      'policies:',
      '  p:',
      '    stages:',
      '      - name: canary',
      '        scope: 1% nodes',
      '        health_gates:',
      '          - { module: bot-management, metric: load_success_rate, threshold: 0.999 }',
      '          - { module: proxy, metric: error_rate, threshold: 0.001 }',
      '          - { module: proxy, metric: latency_p99, threshold: 250 }',
      '          - { name: zero-scores, module: bot-management, metric: "custom:bot_score_zero", max: 0.05, min_samples: 100, min_coverage: 90% }',
      '          - { name: floor, module: proxy, metric: error_rate, min: 0, window: 2m, min_coverage: 0.5 }',
    ));
    const gates = d.policies[0]?.stages[0]?.health_gates ?? [];
    assert.deepEqual(gates.map((g) => [g.name, g.direction, g.threshold]), [
      ['bot-management/load_success_rate', 'min', 0.999],
      ['proxy/error_rate', 'max', 0.001],
      ['proxy/latency_p99', 'max', 250],
      ['zero-scores', 'max', 0.05],
      ['floor', 'min', 0],
    ]);
    assert.deepEqual([gates[3]?.min_samples, gates[3]?.min_coverage, gates[4]?.window_ms, gates[4]?.min_coverage], [100, 0.9, 120_000, 0.5]);
  });

  it('reads the seed article\'s deployment: form as one more policy named after its artifact', () => {
    const d = parseOk(yaml(
      'artifacts:',
      '  bot-management-feature-file: { kind: feature-file, module: bot-management }',
      'deployment:',
      '  artifact: bot-management-feature-file',
      '  stages:',
      '    - name: canary',
      '      scope: 1% nodes',
      '      health_gates: &canary_gates',
      '        - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 60s }',
      '    - name: global',
      '      scope: 100% nodes',
      '      health_gates: *canary_gates',
    ));
    assert.equal(d.policies[0]?.name, 'bot-management-feature-file');
    assert.equal(d.policies[0]?.artifact, 'bot-management-feature-file');
    assert.deepEqual(d.policies[0]?.stages.map((s) => s.health_gates.length), [1, 1]);
  });

  it('accepts approval: manual and manual_approval: true for a human-approved promotion', () => {
    const d = parseOk(yaml(
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: a, scope: 1%, approval: manual, health_gates: [{ module: proxy, metric: error_rate, threshold: 0.01 }] }',
      '      - { name: b, scope: 10%, manual_approval: true, health_gates: [{ module: proxy, metric: error_rate, threshold: 0.01 }] }',
      '      - { name: c, scope: 100%, approval: auto, health_gates: [{ module: proxy, metric: error_rate, threshold: 0.01 }] }',
    ));
    assert.deepEqual(d.policies[0]?.stages.map((s) => s.manual_approval), [true, true, false]);
  });

  it('ignores x- keys at every level', () => {
    const d = parseOk(yaml(
      'x-notes: anything at all',
      'modules:',
      '  x-owner: team-edge',
      '  bot-management: { on_load_failure: serve-stale, x-ticket: EDGE-1 }',
      'policies:',
      '  p:',
      '    x-comment: { free: form }',
      '    stages:',
      '      - name: a',
      '        x-why: first',
      '        scope: { nodes: 1%, x-note: n }',
      '        health_gates: [{ module: bot-management, metric: load_success_rate, threshold: 0.99, x-q: 1 }]',
    ), {});
    assert.deepEqual(d.modules.map((m) => m.name), ['bot-management']);
    assert.equal(d.policies[0]?.stages[0]?.name, 'a');
  });

  it('resolves references against declarations passed as known', () => {
    const d = parseOk(yaml(
      'policies:',
      '  p:',
      '    artifact: stored-artifact',
      '    stages: [{ name: a, scope: 1%, health_gates: [{ module: stored-module, metric: error_rate, threshold: 0.01 }] }]',
    ), {
      known: {
        modules: [{ name: 'stored-module', on_load_failure: 'serve-stale' }],
        artifacts: [{ name: 'stored-artifact', kind: 'config', module: 'stored-module', validation: {} }],
      },
    });
    assert.equal(d.policies[0]?.artifact, 'stored-artifact');
  });
});

describe('parseDeclarations: anchors, aliases and merge keys', () => {
  it('shares a gate list through an anchor and an alias', () => {
    const d = parseOk(yaml(
      'x-gates: &gates',
      '  - { module: proxy, metric: error_rate, threshold: 0.01 }',
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: a, scope: 1%, health_gates: *gates }',
      '      - { name: b, scope: 100%, health_gates: *gates }',
    ));
    assert.deepEqual(d.policies[0]?.stages.map((s) => s.health_gates[0]?.name), ['proxy/error_rate', 'proxy/error_rate']);
  });

  it('merges stage defaults with <<: and lets explicit keys win', () => {
    const d = parseOk(yaml(
      'x-stage-defaults: &defaults',
      '  bake: 5m',
      '  interval: 30s',
      '  health_gates: [{ module: proxy, metric: error_rate, threshold: 0.01 }]',
      'policies:',
      '  p:',
      '    stages:',
      '      - name: canary',
      '        scope: 1% nodes',
      '        <<: *defaults',
      '      - name: global',
      '        scope: 100% nodes',
      '        <<: *defaults',
      '        bake: 10m',
    ));
    const stages = d.policies[0]?.stages ?? [];
    assert.deepEqual(stages.map((s) => [s.bake_ms, s.interval_ms, s.health_gates.length]), [[300_000, 30_000, 1], [600_000, 30_000, 1]]);
  });

  it('merges a list of mappings, earlier sources first', () => {
    const d = parseOk(yaml(
      'x-a: &a { bake: 1m }',
      'x-b: &b { bake: 2m, interval: 20s }',
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: s, scope: 1%, <<: [*a, *b], health_gates: [{ module: proxy, metric: error_rate, threshold: 0.01 }] }',
    ));
    const s = d.policies[0]?.stages[0];
    assert.deepEqual([s?.bake_ms, s?.interval_ms], [60_000, 20_000]);
  });

  it('points an error inside aliased content at its definition, once', () => {
    const text = yaml(
      'x-gates: &gates',
      '  - { module: proxy, metric: error_rate, treshold: 0.01 }',
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: a, scope: 1%, health_gates: *gates }',
      '      - { name: b, scope: 100%, health_gates: *gates }',
    );
    assert.deepEqual(errorsAt(text), ['MISSING_KEY@2:5', 'UNKNOWN_KEY@2:42']);
  });

  it('rejects the seed article\'s policy: *canary_gates is used but &canary_gates never defined', () => {
    const r = parseDeclarations(example('seed-policy.yaml'), { file: 'examples/seed-policy.yaml', known: { ...KNOWN, artifacts: [{ name: 'bot-management-feature-file', kind: 'feature-file', module: 'bot-management', validation: {} }] } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['ALIAS_UNDEFINED@21:21', 'ALIAS_UNDEFINED@25:21']);
    assert.equal(r.errors[0]?.hint, 'define it with &canary_gates on the first use');
    assert.equal(formatError(r.errors[0] ?? { code: '', message: '' }).split('\n')[0],
      'examples/seed-policy.yaml:21:21: alias *canary_gates refers to an anchor that is not defined before it [ALIAS_UNDEFINED]');
  });

  it('stops an alias bomb with ALIAS_BOMB before expanding it', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${prev}`).join(',')}]`);
    }
    // Expanded, these lines are 10^9 nodes: a parser that walked them would run out of memory
    // rather than answer. The answer names the limit it counted up to (no wall-clock assert).
    const r = parseDeclarations(yaml(...levels, 'modules: {}'));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.deepEqual(r.errors.map((e) => e.code), ['ALIAS_BOMB']);
      assert.match(r.errors[0]?.message ?? '', new RegExp(`to more than ${MAX_EXPANDED_NODES} nodes`));
    }
  });

  it('treats an anchor that contains its own alias as ALIAS_BOMB instead of looping', () => {
    assert.deepEqual(codes('x-loop: &loop [a, *loop]\nmodules: {}\n'), ['ALIAS_BOMB']);
  });
});

describe('parseDeclarations: errors', () => {
  it('refuses a file over 1 MiB before parsing it', () => {
    const r = parseDeclarations(`# ${'x'.repeat(MAX_POLICY_BYTES)}\nmodules: {}\n`, { file: 'big.yaml' });
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => [e.code, e.file]), [['FILE_TOO_LARGE', 'big.yaml']]);
  });

  it('reports YAML syntax errors at their line and column', () => {
    assert.deepEqual(errorsAt('modules:\n  a: [1, 2\nartifacts: {}\n'), ['YAML_SYNTAX@3:1']);
  });

  it('reports a duplicate key at the second occurrence', () => {
    assert.deepEqual(errorsAt(yaml('modules:', '  proxy: { on_load_failure: serve-stale }', '  proxy: { on_load_failure: fail-open }')), ['DUPLICATE_KEY@3:3']);
  });

  it('reports duplicate keys at any depth, and a deployment: that reuses a policy name', () => {
    assert.deepEqual(errorsAt(yaml('policies:', '  p:', '    bake: 1m', '    bake: 2m', '    stages: [{ name: s, scope: 1% }]')), ['DUPLICATE_KEY@4:5']);
    assert.deepEqual(errorsAt(yaml('policies:', '  p: { stages: [{ name: s, scope: 1% }] }', 'deployment:', '  name: p', '  stages: [{ name: s, scope: 1% }]')), ['DUPLICATE_KEY@4:9']);
  });

  it('reports an empty file, a comment-only file and an x-only file as EMPTY_DOCUMENT', () => {
    assert.deepEqual(codes(''), ['EMPTY_DOCUMENT']);
    assert.deepEqual(codes('# nothing here\n'), ['EMPTY_DOCUMENT']);
    assert.deepEqual(codes('x-anchors: { a: 1 }\n'), ['EMPTY_DOCUMENT']);
  });

  it('suggests the closest key for a misspelt one, pointing at the key', () => {
    const r = parseDeclarations(yaml(
      'policies:',
      '  p:',
      '    stages:',
      '      - name: canary',
      '        scope: 1% nodes',
      '        health_gate: []',
    ), { known: KNOWN });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['UNKNOWN_KEY@6:9']);
    assert.equal(r.errors[0]?.hint, 'did you mean "health_gates"?');
    assert.equal(r.errors[0]?.path, 'policies.p.stages[0].health_gate');
  });

  it('lists the allowed keys when no key is close', () => {
    const r = parseDeclarations('modules:\n  m: { on_load_failure: serve-stale, colour: blue }\n');
    assert.ok(!r.ok && r.errors[0]?.hint?.startsWith('allowed keys: on_load_failure, reason, safe_default'));
  });

  it('reports wrong types, and numbers out of range, at the value', () => {
    assert.deepEqual(errorsAt(yaml(
      'modules:',
      '  m: { on_load_failure: serve-stale, reason: [a] }',
      'artifacts:',
      '  a: { kind: config, module: m, validation: { max_entries: -1 } }',
      'policies:',
      '  p: { stages: [{ name: s, scope: 1%, rollback_on_failure: yes }] }',
    )), ['WRONG_TYPE@2:46', 'BAD_VALUE@4:60', 'WRONG_TYPE@6:60']);
  });

  it('reports a missing required key at its parent', () => {
    assert.deepEqual(errorsAt(yaml(
      'modules:',
      '  m: {}',
      'policies:',
      '  p:',
      '    stages:',
      '      - name: s',
      '        health_gates: [{ module: proxy, threshold: 0.1 }]',
    )), ['MISSING_KEY@2:3', 'MISSING_KEY@6:9', 'MISSING_KEY@7:24']);
  });

  it('refuses a duration without a unit or with a bad one', () => {
    const r = parseDeclarations(yaml('policies:', '  p:', '    bake: 60', '    interval: 10 seconds', '    stages: [{ name: s, scope: 1% }]'), { known: KNOWN });
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['BAD_DURATION@3:11', 'BAD_DURATION@4:15']);
    assert.match(r.errors[0]?.hint ?? '', /"60s"/);
  });

  it('refuses malformed scopes', () => {
    const scope = (s: string): string[] => errorsAt(yaml('policies:', '  p:', '    stages:', `      - { name: s, scope: ${s} }`));
    assert.deepEqual(scope('"0% nodes"'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('"150%"'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('"0 nodes"'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('"2.5 nodes"'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('"10"'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('10'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('"some nodes"'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('"10% nodes where tier"'), ['BAD_SCOPE@4:27']);
    assert.deepEqual(scope('{ nodes: 0 }'), ['BAD_SCOPE@4:36']);
    assert.deepEqual(scope('{ where: { tier: free } }'), ['MISSING_KEY@4:27']);
  });

  it('keeps ratio thresholds within [0, 1] and latency thresholds non-negative', () => {
    const gate = (g: string): string[] => codes(yaml('policies:', '  p:', '    stages:', `      - { name: s, scope: 1%, health_gates: [${g}] }`));
    assert.deepEqual(gate('{ module: proxy, metric: error_rate, threshold: 1.5 }'), ['BAD_THRESHOLD']);
    assert.deepEqual(gate('{ module: proxy, metric: load_success_rate, threshold: 99.9 }'), ['BAD_THRESHOLD']);
    assert.deepEqual(gate('{ module: proxy, metric: latency_p99, threshold: -1 }'), ['BAD_THRESHOLD']);
    assert.deepEqual(gate('{ module: proxy, metric: latency_p99, threshold: 1500 }'), []);
    assert.deepEqual(gate('{ module: proxy, metric: "custom:x", max: 2 }'), ['BAD_THRESHOLD']);
    assert.deepEqual(gate('{ module: proxy, metric: error_rate, threshold: .inf }'), ['BAD_THRESHOLD']);
    assert.deepEqual(gate('{ module: proxy, metric: error_rate, threshold: 0.1, min_coverage: 0 }'), ['BAD_THRESHOLD']);
  });

  it('asks a custom metric for min: or max: instead of threshold:', () => {
    const r = parseDeclarations(yaml('policies:', '  p:', '    stages:', '      - { name: s, scope: 1%, health_gates: [{ module: proxy, metric: "custom:bot_score_zero", threshold: 0.05 }] }'), { known: KNOWN });
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['BAD_THRESHOLD@4:96']);
    assert.match(r.errors[0]?.hint ?? '', /max: 0\.05/);
  });

  it('refuses both threshold: and max: on one gate', () => {
    assert.deepEqual(errorsAt(yaml('policies:', '  p:', '    stages:', '      - { name: s, scope: 1%, health_gates: [{ module: proxy, metric: error_rate, threshold: 0.1, max: 0.2 }] }')),
      ['CONFLICTING_BOUNDS@4:99']);
  });

  it('refuses approval: and manual_approval: that disagree', () => {
    assert.deepEqual(codes(yaml('policies:', '  p:', '    stages:', '      - { name: s, scope: 1%, approval: auto, manual_approval: true }')), ['CONFLICTING_KEYS']);
  });

  it('names undeclared modules, listing the declared ones', () => {
    const r = parseDeclarations(yaml(
      'modules:',
      '  bot-management: { on_load_failure: serve-stale }',
      'artifacts:',
      '  f: { kind: feature-file, module: bot-managment }',
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: s, scope: 1%, health_gates: [{ module: dns, metric: error_rate, threshold: 0.1 }] }',
    ));
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['UNKNOWN_MODULE@4:36', 'UNKNOWN_MODULE@8:56']);
    assert.match(r.errors[0]?.hint ?? '', /did you mean "bot-management"\?/);
    assert.match(r.errors[1]?.hint ?? '', /declared modules: bot-management; or declare "dns" under modules:/);
  });

  it('says where to declare a module when none is declared', () => {
    const r = parseDeclarations(yaml('policies:', '  p: { stages: [{ name: s, scope: 1%, health_gates: [{ module: dns, metric: error_rate, threshold: 0.1 }] }] }'));
    assert.ok(!r.ok && r.errors[0]?.code === 'UNKNOWN_MODULE' && r.errors[0].hint === 'declare it under modules:');
  });

  it('names unknown metrics with the builtin list and custom:NAME', () => {
    const r = parseDeclarations(yaml('policies:', '  p: { stages: [{ name: s, scope: 1%, health_gates: [{ module: proxy, metric: eror_rate, threshold: 0.1 }] }] }'), { known: KNOWN });
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['UNKNOWN_METRIC@2:79']);
    assert.match(r.errors[0]?.hint ?? '', /did you mean "error_rate"\? builtin metrics: load_success_rate, error_rate, latency_p50, latency_p90, latency_p99; or custom:NAME/);
  });

  it('checks that a policy\'s artifact and an artifact\'s policy exist', () => {
    assert.deepEqual(errorsAt(yaml(
      'artifacts:',
      '  f: { kind: config, module: proxy, policy: nope }',
      'policies:',
      '  p: { artifact: missing, stages: [{ name: s, scope: 1% }] }',
    )), ['UNKNOWN_POLICY@2:45', 'UNKNOWN_ARTIFACT@4:18']);
  });

  it('refuses a stage that covers fewer nodes than an earlier one of the same population', () => {
    assert.deepEqual(errorsAt(yaml(
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: a, scope: 10% nodes }',
      '      - { name: b, scope: 5% nodes }',
      '      - { name: c, scope: 50 nodes }',
      '      - { name: d, scope: 20 nodes }',
      '      - { name: e, scope: 100% nodes where tier=free }',
      '      - { name: f, scope: 100% nodes }',
    )), ['STAGE_SHRINKS@5:27', 'STAGE_SHRINKS@7:27']);
  });

  it('refuses two stages with the same name', () => {
    assert.deepEqual(errorsAt(yaml('policies:', '  p:', '    stages:', '      - { name: a, scope: 1% }', '      - { name: a, scope: 10% }')), ['DUPLICATE_STAGE@5:11']);
  });

  it('refuses two identical gates in one stage', () => {
    assert.deepEqual(codes(yaml('policies:', '  p:', '    stages:', '      - name: a',
      '        scope: 1%',
      '        health_gates: [{ module: proxy, metric: error_rate, threshold: 0.1 }, { module: proxy, metric: error_rate, threshold: 0.2 }]')), ['DUPLICATE_GATE']);
  });

  it('refuses a policy without stages', () => {
    assert.deepEqual(errorsAt(yaml('policies:', '  p: { stages: [] }', '  q: { bake: 1m }')), ['MISSING_KEY@2:16', 'MISSING_KEY@3:3']);
  });

  it('asks a fail-closed module for the reason it hard-fails', () => {
    const r = parseDeclarations(yaml('modules:', '  proxy:', '    on_load_failure: fail-closed'));
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['FAIL_CLOSED_NEEDS_REASON@3:22']);
    assert.match(r.errors[0]?.hint ?? '', /reason:/);
  });

  it('lists the allowed values for an unknown enum value', () => {
    const r = parseDeclarations(yaml('modules:', '  proxy: { on_load_failure: serve_stale }', 'artifacts:', '  a: { kind: binary, module: proxy }'));
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.code}@${e.line}:${e.col}`), ['BAD_ENUM@2:29', 'BAD_ENUM@4:14']);
    assert.equal(r.errors[0]?.message, 'on_load_failure must be one of serve-stale, fail-open, fail-closed, got "serve_stale"');
    assert.equal(r.errors[0]?.hint, 'did you mean "serve-stale"?');
  });

  it('refuses names that would not survive a URL or a log line', () => {
    assert.deepEqual(errorsAt(yaml('modules:', '  "bot management": { on_load_failure: serve-stale }')), ['BAD_NAME@2:3']);
  });

  it('reports every error in the file, sorted by line, each with file, line, column and path', () => {
    const r = parseDeclarations(yaml(
      'modules:',
      '  proxy: { on_load_failure: fail-closed }',
      'policies:',
      '  p:',
      '    bake: forever',
      '    stages:',
      '      - { name: s, scope: 200% }',
    ), { file: 'f.yaml' });
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => [e.code, e.file, e.line, e.col, e.path]), [
      ['FAIL_CLOSED_NEEDS_REASON', 'f.yaml', 2, 29, 'modules.proxy.on_load_failure'],
      ['BAD_DURATION', 'f.yaml', 5, 11, 'policies.p.bake'],
      ['BAD_SCOPE', 'f.yaml', 7, 27, 'policies.p.stages[0].scope'],
    ]);
  });

  it('refuses a top level that is not a mapping, and unknown top-level keys', () => {
    assert.deepEqual(errorsAt('- a\n- b\n'), ['WRONG_TYPE@1:1']);
    assert.deepEqual(errorsAt('module:\n  a: {}\n'), ['UNKNOWN_KEY@1:1', 'EMPTY_DOCUMENT@1:1']);
  });
});

describe('examples/', () => {
  it('failsmall.yaml parses with no errors and no warnings', () => {
    const r = parseDeclarations(example('failsmall.yaml'), { file: 'examples/failsmall.yaml' });
    assert.deepEqual(r.ok ? [] : r.errors.map(formatError), []);
    assert.deepEqual(r.warnings.map(formatError), []);
    if (!r.ok) return;
    assert.deepEqual(r.value.policies.map((p) => [p.name, p.stages.map((s) => s.scope.text)]), [
      ['hot-path-config', ['1% nodes', '10% nodes', '100% nodes']],
      ['free-tier-first', ['10% nodes where customer_tier=free', '100% nodes where customer_tier=free', '10% nodes', '100% nodes']],
    ]);
  });

  it('demo.yaml declares the three-stage demo policy on a fast clock', () => {
    const r = parseDeclarations(example('demo.yaml'), { file: 'examples/demo.yaml' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
    if (!r.ok) return;
    assert.deepEqual(r.warnings, []);
    const policy = r.value.policies[0];
    assert.equal(policy?.name, 'demo-three-stage');
    assert.deepEqual(policy?.stages.map((s) => [s.name, s.scope.text, s.interval_ms, s.bake_ms, s.load_timeout_ms, s.max_extension_ms]), [
      ['canary', '1% nodes', 1000, 3000, 5000, 6000],
      ['partial', '10% nodes', 1000, 3000, 5000, 6000],
      ['global', '100% nodes', 1000, 3000, 5000, 6000],
    ]);
    assert.deepEqual(policy?.stages[0]?.health_gates.map((g) => [g.name, g.direction, g.threshold, g.window_ms]), [
      ['bot-management/load_success_rate', 'min', 0.999, 5000],
      ['proxy/error_rate', 'max', 0.01, 5000],
    ]);
    assert.equal(r.value.artifacts[0]?.validation.max_bytes, 65536);
  });
});
