import type { CohortErrors } from './input.ts';
import { COHORT, ERROR_ANOMALY } from './weights.ts';

/** Where a rollout's excess errors fall: on the nodes with its version, or everywhere alike. */
export interface CohortReading {
  readonly rollout: string;
  readonly version: string;
  /** What the counts say, once tested: see `cohortConcentration`. */
  readonly verdict: 'concentrated' | 'even' | 'healthy' | 'inconclusive';
  /** Share of the excess errors on nodes with the version (0..1). */
  readonly error_share: number;
  /** Share of the requests those nodes served: what error_share would be if errors were spread evenly. */
  readonly request_share: number;
  /** (error_share − request_share) / (1 − request_share): 0 even, 1 all on the version's nodes. */
  readonly concentration: number;
  /** Two-proportion z: how many standard errors the version's error ratio lies above the others'. */
  readonly z: number;
  /** How many standard errors the fleet's errors lie above its baseline (Poisson). */
  readonly z_excess: number;
  readonly nodes_with: number;
  readonly nodes_total: number;
  /** Error ratios on each side, and the baseline. */
  readonly ratio_with: number;
  readonly ratio_without: number;
  readonly baseline: number;
  readonly requests_with: number;
  readonly errors_with: number;
  /** Errors above the baseline over the window, both sides together (may be negative: fewer than usual). */
  readonly excess_errors: number;
}

export type CohortResult = { readonly ok: true; readonly reading: CohortReading } | { readonly ok: false; readonly why: string };

/**
 * Reads the cohort split of one rollout over [since, now], with tests rather than raw shares
 * (noise on a small canary once read as "100% of the excess errors on the new version"):
 * - **concentrated**: the version's error ratio exceeds the others' by COHORT.z standard errors
 *   (two-proportion z-test on the counts) and the fleet's excess is itself significant;
 * - **even**: the fleet's excess is significant, the two sides do not differ, and had all of it
 *   fallen on the version's nodes the test would have seen it (enough power to say "even");
 * - **healthy**: no significant excess anywhere, and a version that erred at the anomaly level
 *   (ERROR_ANOMALY) would have shown on its nodes;
 * - **inconclusive** otherwise (too few requests on either side to say anything).
 */
export function cohortConcentration(c: CohortErrors, since: number, now: number): CohortResult {
  let rw = 0; let ew = 0; let ro = 0; let eo = 0; let nodesWith = 0; let nodesTotal = 0;
  for (const s of c.samples) {
    if (s.at_ms < since || s.at_ms > now) continue;
    rw += s.with_version.requests; ew += s.with_version.errors;
    ro += s.without_version.requests; eo += s.without_version.errors;
    nodesWith = s.with_version.nodes;
    nodesTotal = s.with_version.nodes + s.without_version.nodes;
  }
  if (rw + ro === 0) return { ok: false, why: `no cohort counts for rollout ${c.rollout} since it started` };
  if (rw === 0) return { ok: false, why: `no node served ${c.version} of rollout ${c.rollout} yet` };
  const request_share = rw / (rw + ro);
  if (request_share > COHORT.maxRequestShare || nodesTotal === nodesWith || ro === 0) {
    return { ok: false, why: `rollout ${c.rollout} reached every node: no nodes without ${c.version} to compare with` };
  }
  const b = c.baseline;
  const pw = ew / rw;
  const po = eo / ro;
  const z = twoProportionZ(ew, rw, eo, ro);
  const expected = b * (rw + ro);
  const excess = ew + eo - expected;
  const z_excess = excess / Math.sqrt(Math.max(expected, 1));
  // Excess per side against the baseline, floored together, not each at zero (which turned noise
  // on the version's side into "all of the excess").
  const xw = ew - b * rw;
  const xo = eo - b * ro;
  const error_share = xw + xo > 0 ? clamp01(xw / (xw + xo)) : request_share;
  const concentration = (error_share - request_share) / (1 - request_share);
  let verdict: CohortReading['verdict'] = 'inconclusive';
  if (z >= COHORT.z && z_excess >= COHORT.z) verdict = 'concentrated';
  else if (z_excess >= COHORT.z && Math.abs(z) < 1 && detectable(ew + eo, rw, ro, excess)) verdict = 'even';
  else if (z_excess < 1 && pw - b < ERROR_ANOMALY.excess && detectable(ew + eo, rw, ro, anomalyExcess(b, rw))) verdict = 'healthy';
  return {
    ok: true,
    reading: {
      rollout: c.rollout, version: c.version, verdict, error_share, request_share, concentration: verdict === 'concentrated' ? Math.max(0, concentration) : verdict === 'even' ? Math.min(concentration, 0.1) : 0,
      z, z_excess, nodes_with: nodesWith, nodes_total: nodesTotal, ratio_with: pw, ratio_without: po, baseline: b,
      requests_with: rw, errors_with: ew, excess_errors: excess,
    },
  };
}

/** (p₁ − p₂) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)) with the pooled p̂; 0 when there is no variance to test against. */
export function twoProportionZ(e1: number, n1: number, e2: number, n2: number): number {
  if (n1 <= 0 || n2 <= 0) return 0;
  const p = (e1 + e2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return 0;
  return (e1 / n1 - e2 / n2) / se;
}

/**
 * Power: would `extra` errors put on the version's nodes have stood out at COHORT.z? Tested by
 * moving them there from an even spread of `errors` and computing the z-test the counts would give.
 */
function detectable(errors: number, rw: number, ro: number, extra: number): boolean {
  if (extra <= 0) return false;
  const share = rw / (rw + ro);
  const base = Math.max(0, errors - extra);
  const ew = base * share + extra;
  const eo = base * (1 - share);
  return twoProportionZ(ew, rw, eo, ro) >= COHORT.z;
}

/** The excess a version erring at the anomaly level (ERROR_ANOMALY) would put on its nodes. */
function anomalyExcess(baseline: number, rw: number): number {
  const ratio = Math.max(ERROR_ANOMALY.factor * baseline, baseline + ERROR_ANOMALY.excess);
  return (ratio - baseline) * rw;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
