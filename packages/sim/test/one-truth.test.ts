/**
 * Issue 12: one truth. The simulated nodes run the node core every agent runs (nodeStep and the
 * load sequence of nextLoadStep, with checkCandidate's real checks), so a change to how nodes
 * load changes the simulator's figures. Here the change is made on purpose: a load sequence
 * that skips validation lets the 18 November file through, and the safe loader's advantage is gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCandidate, nextLoadStep, nodeStep, type CheckKeys, type LoadCandidate } from '@failsmall/core';
import { simulate, type NodeCore } from '../src/index.ts';
import { shipped } from './helpers.ts';

test('the simulator runs the node core: a load sequence that skips validation changes its result', () => {
  const s = shipped('nov18-oversized-feature-file');
  const real = simulate(s, { nodes: 500, regimes: ['staged-safe-loader'] }).regimes['staged-safe-loader'];
  const lax: NodeCore = {
    nodeStep,
    // A load sequence that validates nothing and takes the module's crash on apply for a success:
    // the node then serves the oversized file, as a hard-failing loader would.
    checkCandidate: (c: LoadCandidate, keys: CheckKeys) => checkCandidate({ ...c, validation: {} }, keys),
    nextLoadStep: (p, version) => nextLoadStep(p.apply && !p.apply.ok ? { ...p, apply: { ok: true } } : p, version),
  };
  const broken = simulate(s, { nodes: 500, regimes: ['staged-safe-loader'], nodeCore: lax }).regimes['staged-safe-loader'];
  assert.ok(real && broken);
  assert.equal(real.failed_requests, 0, 'with the real checks, no node takes the oversized file');
  assert.ok(broken.failed_requests > 0, `without validation the canary serves the bad file: ${broken.failed_requests} failed requests`);
  assert.ok(broken.nodes_exposed > real.nodes_exposed);
});

test('every simulated load goes through the node core: refusals carry its codes and stages', () => {
  const s = shipped('nov18-oversized-feature-file');
  let loads = 0;
  let refusedAtValidate = 0;
  const counting: NodeCore = {
    checkCandidate,
    nodeStep: (state, event) => {
      const out = nodeStep(state, event);
      if (event.type === 'loaded') { loads++; if (!event.outcome.ok && event.outcome.stage === 'validate') refusedAtValidate++; }
      return out;
    },
    nextLoadStep,
  };
  const r = simulate(s, { nodes: 300, regimes: ['staged-safe-loader'], nodeCore: counting }).regimes['staged-safe-loader'];
  assert.ok(r);
  assert.ok(loads > 0);
  assert.ok(refusedAtValidate > 0, 'the oversized versions are refused at validate, by the node core');
  const refusal = r.rollouts.find((x) => x.bad)?.reason ?? '';
  assert.match(refusal, /validate: |MAX_ENTRIES|max_entries|load/i);
});

test('rollback_seconds counts until the last exposed node serves a good version again, not until the engine says rolled_back', () => {
  // Agents that learn of a change 1-3 minutes late (propagation 2 m: each node's delay is 1-3 m).
  const s = { ...shipped('dec05-killswitch'), propagation_ms: 120_000 };
  const r = simulate(s, { nodes: 1000, regimes: ['staged'] });
  const staged = r.regimes.staged;
  assert.ok(staged && staged.detect_seconds !== null && staged.rollback_seconds !== null);
  const rollout = staged.rollouts[0];
  assert.ok(rollout && rollout.ended_seconds !== null);
  const detectedAt = (r.first_bad_push_seconds ?? 0) + staged.detect_seconds;
  const engineSays = rollout.ended_seconds - detectedAt;
  // The rollback reaches each canary node only after its own delay (at least 60 s).
  assert.ok(staged.rollback_seconds >= 60, `rollback ${staged.rollback_seconds} s`);
  assert.ok(staged.rollback_seconds >= engineSays, `nodes ${staged.rollback_seconds} s, engine ${engineSays} s`);
});
