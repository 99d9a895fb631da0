import type { Warning } from '../errors/index.ts';
import { coversEverything } from './scope.ts';
import type { ArtifactDecl, Declarations, PolicySpec } from './types.ts';

/**
 * Non-blocking advice about declarations that parse but are likely to fail big.
 * Each warning names a `path` (`policies.NAME.stages[0].scope`); the parser turns it into
 * a line and column. `known` supplies modules and artifacts declared elsewhere.
 *
 * Examples
 *   lintDeclarations(d).map((w) => w.code) // ['SINGLE_STAGE_GLOBAL', 'NO_GATES']
 */
export function lintDeclarations(d: Declarations, known: Partial<Declarations> = {}): Warning[] {
  const warnings: Warning[] = [];
  const modules = [...d.modules, ...(known.modules ?? [])];
  const artifacts = [...d.artifacts, ...(known.artifacts ?? [])];
  const allPolicies = [...d.policies, ...(known.policies ?? [])];

  for (const policy of d.policies) {
    const base = `policies.${policy.name}`;
    const bound = boundArtifacts(policy, artifacts);
    const only = policy.stages.length === 1 ? policy.stages[0] : undefined;
    if (only && coversEverything(only.scope) && (bound.length === 0 || bound.some((a) => a.kind !== 'code'))) {
      const what = bound.length === 0 ? 'is not bound to an artifact' : `rolls out ${bound.filter((a) => a.kind !== 'code').map((a) => `${a.kind} ${a.name}`).join(', ')}`;
      warnings.push(warning('SINGLE_STAGE_GLOBAL', `policy "${policy.name}" has a single stage covering every node and ${what}: one bad file reaches the whole fleet at once`,
        `${base}.stages[0].scope`, 'add a canary stage first, e.g. - { name: canary, scope: 1% nodes, health_gates: [...] }'));
    }
    const hasHoldback = policy.stages.some((s) => s.holdback);
    policy.stages.forEach((stage, i) => {
      const path = stage.holdback ? `${base}.holdback` : `${base}.stages[${i}]`;
      const baselineGates = stage.health_gates.filter((g) => g.compare === 'baseline');
      if (baselineGates.length > 0 && stage.scope.type === 'count' && stage.scope.count < 2) {
        warnings.push(warning('BASELINE_GATE_FEW_NODES', `stage "${stage.name}" of policy "${policy.name}" gives the change to ${stage.scope.text}, and a compare: baseline gate never decides on a single node (a node's bad minute looks like a regression): the stage can only extend and pause`,
          `${path}.scope`, 'give the stage at least 2 nodes, e.g. scope: 2 nodes or 1% nodes'));
      }
      if (baselineGates.length > 0 && !stage.holdback && !hasHoldback && coversEverything(stage.scope)) {
        warnings.push(warning('BASELINE_GATE_NO_BASELINE', `stage "${stage.name}" of policy "${policy.name}" covers every node, so its compare: baseline gate has no baseline left and stays inconclusive`,
          `${path}.scope`, 'use a threshold gate on the last stage, or keep a holdback as its baseline: holdback: { scope: 1% nodes, for: 2h }'));
      }
      if (stage.health_gates.length === 0) {
        warnings.push(warning('NO_GATES', `stage "${stage.name}" of policy "${policy.name}" has no health gates, so it promotes on time alone`,
          path, 'add health_gates:, e.g. - { module: bot-management, metric: load_success_rate, threshold: 0.999 }'));
      }
      if (stage.bake_ms < stage.interval_ms) {
        warnings.push(warning('BAKE_SHORTER_THAN_INTERVAL', `stage "${stage.name}" of policy "${policy.name}" bakes for ${stage.bake_ms} ms but evaluates its gates every ${stage.interval_ms} ms: it promotes after a single look`,
          `${path}.bake`, 'make bake a few intervals long, e.g. interval: 10s, bake: 60s'));
      }
      if (!stage.rollback_on_failure) {
        warnings.push(warning('NO_ROLLBACK', `stage "${stage.name}" of policy "${policy.name}" does not roll back when a gate fails`,
          `${path}.rollback_on_failure`, 'remove rollback_on_failure: false unless a human must decide every rollback'));
      }
    });
  }

  for (const artifact of d.artifacts) {
    const module = modules.find((m) => m.name === artifact.module);
    if (module?.on_load_failure !== 'fail-closed') continue;
    for (const policy of policiesFor(artifact, allPolicies)) {
      const first = policy.stages[0];
      if (first?.scope.type !== 'percent' || first.scope.percent <= 1) continue;
      warnings.push(warning('FAIL_CLOSED_NO_CANARY', `artifact "${artifact.name}" feeds fail-closed module "${module.name}", but policy "${policy.name}" starts at ${first.scope.text}: a bad version hard-fails requests on all of them`,
        d.policies.includes(policy) ? `policies.${policy.name}.stages[0].scope` : `artifacts.${artifact.name}.policy`,
        'start with a canary of at most 1% of nodes'));
    }
  }
  return warnings;
}

/** Artifacts a policy rolls out: the one it names, and every artifact that names it as its policy. */
function boundArtifacts(policy: PolicySpec, artifacts: readonly ArtifactDecl[]): ArtifactDecl[] {
  return artifacts.filter((a) => a.name === policy.artifact || a.policy === policy.name);
}

function policiesFor(artifact: ArtifactDecl, policies: readonly PolicySpec[]): PolicySpec[] {
  const seen = new Set<string>();
  return policies.filter((p) => {
    if (seen.has(p.name)) return false;
    const hit = p.name === artifact.policy || p.artifact === artifact.name;
    if (hit) seen.add(p.name);
    return hit;
  });
}

function warning(code: string, message: string, path: string, hint: string): Warning {
  return { code, message, hint, path, severity: 'warning' };
}
