import type { ArtifactNode, DesiredEntry, LoadOutcome, LoadReport, Pin, ServedVersion } from './types.ts';

/** How many served versions a node remembers per artifact: where `lkg` can go back to. */
export const MAX_HISTORY = 8;

/** The server caps a load report's error text; a long stderr must not make a report stick. */
export const MAX_REPORT_ERROR = 3900;

/**
 * How long a node waits before it tries a version that failed to load again: 5 s, doubling to
 * 10 min. Not a tight loop, but not never either — a reload that timed out once (say, during a
 * rollback) must not leave the node behind for good. Deterministic: the node's own clock and
 * attempt count decide, so a test (or the simulator) can say exactly when the retry comes.
 */
export function loadRetryDelayMs(attempts: number): number {
  return Math.min(600_000, 5000 * 2 ** (Math.max(1, attempts) - 1));
}

/** What the node does with one desired entry now. */
export type ConvergeAction =
  /** A break-glass pin outranks the control plane until an operator lifts it. */
  | 'pinned'
  /** Already as desired. */
  | 'settled'
  /** Desired again what the module kept serving as its last known-good (a rollback): it is simply serving now, no new load, no new report. */
  | 'now-serving'
  /** This very version failed to load and its retry is not due yet. */
  | 'retry-later'
  /** Fetch the version and run the load sequence. */
  | 'load';

/** Decides what one desired entry asks of the node at `at` (ms). Pure. */
export function convergeAction(node: ArtifactNode | undefined, d: DesiredEntry, at: number): ConvergeAction {
  if (node?.pin) return 'pinned';
  const current = node?.serving;
  if (current && current.version === d.version) {
    if (current.state === 'stale' && d.version !== null) return 'now-serving';
    if (current.state === 'serving' || current.state === 'stale' || d.version === null) return 'settled';
  }
  const failed = node?.failed;
  if (failed && failed.version === d.version && at < failed.retryAt) return 'retry-later';
  return 'load';
}

/** The node after a `now-serving` decision: the module serves the desired version as its own again. */
export function markServing(node: ArtifactNode): ArtifactNode {
  const { failed: _failed, ...rest } = node;
  return node.serving ? { ...rest, serving: { ...node.serving, state: 'serving' } } : rest;
}

/**
 * The node after a load of `d` ended as `outcome` at `at`: what it serves, what it remembers as
 * known-good, when it will retry a failure, and the report the control plane gets. Pure.
 */
export function afterLoad(node: ArtifactNode | undefined, d: DesiredEntry, outcome: LoadOutcome, at: number): { node: ArtifactNode; report: LoadReport } {
  const current = node?.serving;
  const servingVersion = 'version' in outcome.state ? outcome.state.version : null;
  const serving = {
    version: servingVersion, sha256: outcome.ok ? d.sha256 : (current?.sha256 ?? null), module: d.module, state: outcome.state.state,
    ...(d.on_failure ? { on_failure: d.on_failure } : {}), ...(d.validation ? { validation: d.validation } : {}),
  };
  let history = node?.history ?? [];
  if (outcome.ok && d.version !== null && d.sha256 !== null) history = remember(history, { version: d.version, sha256: d.sha256, signature: d.signature ?? null });
  const { failed: previous, serving: _s, history: _h, ...rest } = node ?? { history: [] };
  const next: ArtifactNode = { ...rest, serving, history };
  const attempts = !outcome.ok ? (previous && previous.version === d.version ? previous.attempts + 1 : 1) : 0;
  const withRetry: ArtifactNode = outcome.ok ? next : { ...next, failed: { version: d.version, attempts, retryAt: at + loadRetryDelayMs(attempts) } };
  return {
    node: withRetry,
    report: {
      artifact: d.artifact, version: d.version, ok: outcome.ok, serving: servingVersion,
      error: outcome.ok ? null : outcome.error.slice(0, MAX_REPORT_ERROR), module_state: outcome.state.state,
    },
  };
}

/** History with `v` as its newest entry, at most MAX_HISTORY long. */
export function remember(history: readonly ServedVersion[], v: ServedVersion): ServedVersion[] {
  return [...history.filter((h) => h.version !== v.version), v].slice(-MAX_HISTORY);
}

/**
 * The version `lkg` goes back to: the last known-good copy the module already fell back to, or
 * the newest version in the history that is neither served now nor one break-glass already moved
 * the artifact away from. Undefined when there is none.
 */
export function lkgTarget(node: ArtifactNode): string | undefined {
  const s = node.serving;
  if (s?.state === 'stale' && s.version !== null) return s.version;
  const avoid = new Set([...(node.pin?.replaced ?? []), ...(s?.version != null ? [s.version] : [])]);
  return [...node.history].reverse().find((h) => !avoid.has(h.version))?.version;
}

/** The versions a new pin keeps away from: the old pin's, plus the one served before it, minus its own target. */
export function replacedAfter(previous: Pin | undefined, servedBefore: string | null, target: string | null): string[] {
  const out = new Set(previous?.replaced ?? []);
  if (servedBefore !== null && servedBefore !== target) out.add(servedBefore);
  if (target !== null) out.delete(target);
  return [...out];
}

/** The earliest time a failed load is due again, or undefined when none waits. */
export function nextRetryAt(nodes: Iterable<ArtifactNode>): number | undefined {
  let next: number | undefined;
  for (const n of nodes) if (n.failed && (next === undefined || n.failed.retryAt < next)) next = n.failed.retryAt;
  return next;
}
