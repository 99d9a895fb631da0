import type { TriageRun } from './evaluate.ts';

/** One bin of stated confidence: how often the top hypothesis was right when triage said this much. */
export interface CalibrationBin {
  /** Stated confidence of the top hypothesis, from (inclusive) and to (exclusive; the last bin includes 1). */
  readonly from: number;
  readonly to: number;
  /** Weight of the readings in the bin: runs, where each run's steps share one unit. */
  readonly weight: number;
  /** Mean stated confidence, and the share of those readings that were correct. */
  readonly stated: number | null;
  readonly observed: number | null;
}

export interface Calibration {
  readonly bins: readonly CalibrationBin[];
  /** Expected calibration error: Σ weight·|stated − observed| / Σ weight. 0 is perfectly calibrated. */
  readonly ece: number;
  /** Brier score of the top hypothesis' confidence against its correctness (lower is better; 0.25 is a coin). */
  readonly brier: number;
}

/** The bin edges the bench reports: wide where triage rarely speaks, fine near certainty. */
export const CALIBRATION_EDGES: readonly number[] = [0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1];

/**
 * Stated confidence against observed accuracy: does "80%" come true 8 times in 10? Every step
 * of every run from its first alert is a reading (each run's steps share one unit of weight, so
 * that long scenarios do not dominate); `at: 'final'` reads only each run's final verdict.
 * Pure: the bench prints it for each labelled set (docs/benchmarks.md, figure 6).
 *
 * Examples
 *   const c = calibrate(runs);
 *   c.bins.map((b) => `${b.from}–${b.to}: said ${b.stated}, right ${b.observed}`);
 */
export function calibrate(runs: readonly TriageRun[], opts: { at?: 'steps' | 'final'; edges?: readonly number[] } = {}): Calibration {
  const edges = opts.edges ?? CALIBRATION_EDGES;
  const readings: { confidence: number; correct: boolean; weight: number }[] = [];
  for (const r of runs) {
    if (opts.at === 'final') {
      const top = r.final.hypotheses[0];
      if (top) readings.push({ confidence: top.confidence, correct: r.correct, weight: 1 });
      continue;
    }
    for (const s of r.steps) readings.push({ confidence: s.confidence, correct: s.correct, weight: 1 / r.steps.length });
  }
  const bins: CalibrationBin[] = [];
  let gap = 0;
  let total = 0;
  let brier = 0;
  for (let i = 0; i + 1 < edges.length; i++) {
    const from = edges[i] ?? 0;
    const to = edges[i + 1] ?? 1;
    const last = i + 2 === edges.length;
    const inBin = readings.filter((x) => x.confidence >= from && (x.confidence < to || (last && x.confidence <= to)));
    const w = inBin.reduce((a, x) => a + x.weight, 0);
    const stated = w > 0 ? inBin.reduce((a, x) => a + x.weight * x.confidence, 0) / w : null;
    const observed = w > 0 ? inBin.reduce((a, x) => a + x.weight * (x.correct ? 1 : 0), 0) / w : null;
    if (stated !== null && observed !== null) gap += w * Math.abs(stated - observed);
    total += w;
    bins.push({ from, to, weight: round(w), stated: stated === null ? null : round(stated), observed: observed === null ? null : round(observed) });
  }
  for (const x of readings) brier += x.weight * (x.confidence - (x.correct ? 1 : 0)) ** 2;
  return { bins, ece: total > 0 ? round(gap / total) : 0, brier: total > 0 ? round(brier / total) : 0 };
}

function round(x: number): number {
  return Number(x.toFixed(4));
}
