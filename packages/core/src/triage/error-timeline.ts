import type { ModuleErrors } from './input.ts';
import { upTo } from './series.ts';
import { EPISODE_GAP_MS, ERROR_ANOMALY, FLAPPING } from './weights.ts';

export interface Transition {
  readonly at_ms: number;
  readonly to: 'on' | 'off';
}

export interface ErroringModule {
  readonly module: string;
  /** Errors / requests since the first error. */
  readonly ratio: number;
  readonly baseline: number;
  /** Errors above the baseline since the first error. */
  readonly excess: number;
}

/** When errors rose, which modules erred, and how the fleet's error state switched since. */
export interface ErrorTimeline {
  /** The first error of the current episode (see EPISODE_GAP_MS), or null. */
  readonly first_error_ms: number | null;
  /** Debounced switches of "some module is anomalous", the first one `on`. */
  readonly transitions: readonly Transition[];
  readonly erroring: readonly ErroringModule[];
}

/**
 * A step is anomalous when some module's error ratio is at least ERROR_ANOMALY.factor × its
 * baseline and ERROR_ANOMALY.excess above it. A state (anomalous or not) must hold for
 * FLAPPING.debounceSteps steps to count; it counts from its first step.
 */
export function errorTimeline(modules: readonly ModuleErrors[], now: number): ErrorTimeline {
  const anomalousAt = new Map<number, boolean>();
  const series = modules.map((m) => ({ m, samples: upTo(m.samples, now) }));
  for (const { m, samples } of series) {
    for (const s of samples) {
      const bad = isAnomalous(s.errors, s.requests, m.baseline);
      anomalousAt.set(s.at_ms, (anomalousAt.get(s.at_ms) ?? false) || bad);
    }
  }
  const times = [...anomalousAt.keys()].sort((a, b) => a - b);
  const transitions: Transition[] = [];
  let state = false;
  let run: { since: number; state: boolean; steps: number } | undefined;
  for (const t of times) {
    const bad = anomalousAt.get(t) ?? false;
    if (bad === state) { run = undefined; continue; }
    run = run && run.state === bad ? { ...run, steps: run.steps + 1 } : { since: t, state: bad, steps: 1 };
    if (run.steps >= FLAPPING.debounceSteps) {
      state = bad;
      transitions.push({ at_ms: run.since, to: bad ? 'on' : 'off' });
      run = undefined;
    }
  }
  const first = episodeStart(transitions);
  const erroring: ErroringModule[] = [];
  if (first !== null) {
    for (const { m, samples } of series) {
      let requests = 0;
      let errors = 0;
      let anomalous = 0;
      for (const s of samples) {
        if (s.at_ms < first) continue;
        requests += s.requests;
        errors += s.errors;
        if (isAnomalous(s.errors, s.requests, m.baseline)) anomalous++;
      }
      if (anomalous >= FLAPPING.debounceSteps && requests > 0) {
        erroring.push({ module: m.module, ratio: errors / requests, baseline: m.baseline, excess: Math.max(0, errors - m.baseline * requests) });
      }
    }
    erroring.sort((a, b) => b.excess - a.excess);
  }
  return { first_error_ms: first, transitions, erroring };
}

/**
 * Where the current episode of errors began: the last switch on after a quiet spell of at least
 * EPISODE_GAP_MS. Errors that stopped long ago (a canary rolled back an hour earlier) belong to
 * another episode; counting from them made a newer failed rollout "start after the first error".
 * Flapping errors (off for a few minutes at a time) stay one episode.
 */
function episodeStart(transitions: readonly Transition[]): number | null {
  let start: number | null = null;
  let offSince: number | null = null;
  for (const t of transitions) {
    if (t.to === 'off') { offSince = t.at_ms; continue; }
    if (start === null || (offSince !== null && t.at_ms - offSince >= EPISODE_GAP_MS)) start = t.at_ms;
    offSince = null;
  }
  return start;
}

export function isAnomalous(errors: number, requests: number, baseline: number): boolean {
  if (requests <= 0) return false;
  const ratio = errors / requests;
  return ratio >= ERROR_ANOMALY.factor * baseline && ratio - baseline >= ERROR_ANOMALY.excess;
}
