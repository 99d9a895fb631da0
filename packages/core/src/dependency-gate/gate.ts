import { hasFallback } from '../audit/audit.ts';
import type { DependencyEdge } from '../audit/types.ts';
import type { DependencyFinding, VersionManifest } from './types.ts';

/**
 * The dependency policy gate: what a rollout from the current version's manifest to the
 * target version's would add in hard dependencies. Each finding names the dependency, its
 * kind and a sentence that says why it is one. An empty list means the gate is clear.
 *
 * A dependency the current version already has hard (or soft without a fallback) is not new,
 * and a soft dependency with a fallback is never a finding. A null `from` (no version is
 * current yet, or the current one declares nothing) depends on nothing; a null `to`
 * declares nothing, so it adds nothing.
 *
 * Examples
 *   checkDependencyChange(null, { depends_on: [{ on: 'bot-check', hard: true }] })
 *   // [{ dependency: 'bot-check', kind: 'new-hard-dependency', was: null,
 *   //    reason: 'adds a hard dependency on bot-check, which the current version does not depend on: whenever bot-check is down, this version is down too' }]
 *   checkDependencyChange(null, { depends_on: [{ on: 'session-store', hard: false, fallback: 'read-only cached sessions' }] })
 *   // []
 */
export function checkDependencyChange(from: VersionManifest | null, to: VersionManifest | null): DependencyFinding[] {
  if (to === null) return [];
  const before = new Map((from?.depends_on ?? []).map((e) => [e.on, e]));
  const findings: DependencyFinding[] = [];
  for (const edge of to.depends_on) {
    if (!isEffectivelyHard(edge)) continue;
    const prev = before.get(edge.on);
    if (prev !== undefined && isEffectivelyHard(prev)) continue;
    findings.push(finding(edge, prev));
  }
  return findings;
}

/** A hard edge, or a soft one with nothing to fall back on. */
export function isEffectivelyHard(edge: DependencyEdge): boolean {
  return edge.hard || !hasFallback(edge);
}

function finding(edge: DependencyEdge, prev: DependencyEdge | undefined): DependencyFinding {
  const on = edge.on;
  // `prev`, when there is one, is soft with a fallback: anything else is not a finding.
  const was = prev === undefined ? null : { hard: prev.hard, ...(prev.fallback !== undefined ? { fallback: prev.fallback } : {}) };
  const fellBack = prev?.fallback !== undefined ? `the current version falls back to "${prev.fallback}" when ${on} is down` : '';
  if (edge.hard) {
    return {
      dependency: on, kind: 'new-hard-dependency', was,
      reason: prev === undefined
        ? `adds a hard dependency on ${on}, which the current version does not depend on: whenever ${on} is down, this version is down too`
        : `makes its dependency on ${on} hard: ${fellBack}; this version is down with it`,
    };
  }
  return {
    dependency: on, kind: 'soft-without-fallback', was,
    reason: prev === undefined
      ? `adds a soft dependency on ${on} with no fallback: with nothing to fall back on, it is a hard dependency in disguise`
      : `drops the fallback of its soft dependency on ${on} (${fellBack}): with nothing to fall back on, it is a hard dependency in disguise`,
  };
}
