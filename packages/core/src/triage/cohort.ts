import type { CohortErrors } from './input.ts';
import { COHORT } from './weights.ts';

/** Where a rollout's excess errors fall: on the nodes with its version, or everywhere alike. */
export interface CohortReading {
  readonly rollout: string;
  readonly version: string;
  /** Share of the excess errors on nodes with the version. */
  readonly error_share: number;
  /** Share of the requests those nodes served: what error_share would be if errors were spread evenly. */
  readonly request_share: number;
  /** (error_share − request_share) / (1 − request_share): 0 even, 1 all on the version's nodes. */
  readonly concentration: number;
  readonly nodes_with: number;
  readonly nodes_total: number;
  /** Error ratios on each side. */
  readonly ratio_with: number;
  readonly ratio_without: number;
  readonly excess_errors: number;
}

export type CohortResult = { readonly ok: true; readonly reading: CohortReading } | { readonly ok: false; readonly why: string };

/** Reads the cohort split of one rollout over [since, now]. */
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
  if (request_share > COHORT.maxRequestShare || nodesTotal === nodesWith) {
    return { ok: false, why: `rollout ${c.rollout} reached every node: no nodes without ${c.version} to compare with` };
  }
  const xw = Math.max(0, ew - c.baseline * rw);
  const xo = Math.max(0, eo - c.baseline * ro);
  if (xw + xo < COHORT.minExcessErrors) {
    return { ok: false, why: `only ${Math.round(xw + xo)} errors above baseline since rollout ${c.rollout} started (${COHORT.minExcessErrors} needed to compare cohorts)` };
  }
  const error_share = xw / (xw + xo);
  return {
    ok: true,
    reading: {
      rollout: c.rollout, version: c.version, error_share, request_share,
      concentration: (error_share - request_share) / (1 - request_share),
      nodes_with: nodesWith, nodes_total: nodesTotal, ratio_with: ew / rw, ratio_without: eo / ro, excess_errors: xw + xo,
    },
  };
}
