import type { RolloutState, Verdict } from '@failsmall/core';

/**
 * The one sentence a person reads when a rollout is rolled back, e.g. "Rollout r-12 of
 * api-server 2.41.0 rolled back at stage canary: gate error_rate failed (2.3% vs 1%
 * threshold)." It names what was shipped and why it came back, not the event's keys; without
 * the rollout's state (a store that lost it) it says what the event alone says.
 */
export function rollbackSentence(rolloutId: string, rollout: RolloutState | undefined, payload: Readonly<Record<string, unknown>>): string {
  const what = rollout ? ` of ${rollout.artifact} ${rollout.to_version}` : '';
  const stage = rollout?.outcome?.stage ?? (typeof payload.stage === 'string' ? payload.stage : undefined);
  const at = stage ? ` at stage ${stage}` : '';
  const verdict = rollout?.outcome?.verdict;
  const why = verdict ? gateClause(verdict) : rollout?.outcome?.reason ?? (typeof payload.reason === 'string' ? payload.reason : '');
  return `Rollout ${rolloutId}${what} rolled back${at}${why ? `: ${why}` : ''}.`;
}

/** "gate error_rate failed (2.3% vs 1% threshold)"; "… had no data" when the gate saw none. */
export function gateClause(v: Pick<Verdict, 'gate' | 'metric' | 'status' | 'value' | 'threshold'>): string {
  const did = v.status === 'inconclusive' ? 'stayed inconclusive' : 'failed';
  if (v.value === null) return `gate ${v.gate} ${did} (no data; threshold ${gateNumber(v.metric, v.threshold)})`;
  return `gate ${v.gate} ${did} (${gateNumber(v.metric, v.value)} vs ${gateNumber(v.metric, v.threshold)} threshold)`;
}

/** Rates and ratios read as percentages; anything else as a number of at most 4 significant digits. */
export function gateNumber(metric: string, n: number): string {
  if (/rate|ratio|fraction/.test(metric) && n >= 0 && n <= 1) return `${Number((n * 100).toPrecision(4))}%`;
  return String(Number(n.toPrecision(4)));
}
