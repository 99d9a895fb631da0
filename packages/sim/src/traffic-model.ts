import { LATENCY_BUCKETS_MS, normalCdf, type ModuleCounters } from '@failsmall/core';
import type { Rng } from './rng.ts';
import type { Effect, TrafficSpec } from './scenario/types.ts';

/**
 * How the simulated nodes' traffic is drawn: requests, errors and latency, for a group of alike
 * nodes over one tick (the regime's totals and the gates' aggregates) or for one node over a
 * gate's window (the per-node view a `compare: baseline` gate gets, as the server gives it).
 */

/**
 * A latency histogram over LATENCY_BUCKETS_MS: lognormal (median, p99), scaled by `factor`
 * (a scaled lognormal keeps its shape: median and p99 both move by the factor) and shifted by
 * any added latency. `nodes` averages the per-node latency noise over a group.
 */
export function latencyHistogram(rng: Rng, tr: TrafficSpec, requests: number, nodes: number, addMs: number, factor = 1): number[] {
  const sigma = Math.log(tr.latency_p99_ms / tr.latency_median_ms) / 2.3263;
  const median = factor * tr.latency_median_ms * Math.exp(((tr.noise / 2) * rng.normal()) / Math.sqrt(Math.max(1, nodes)));
  const out = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  let remaining = requests;
  let below = 0;
  for (let k = 0; k < LATENCY_BUCKETS_MS.length && remaining > 0; k++) {
    const bound = LATENCY_BUCKETS_MS[k] ?? 0;
    const cdf = bound <= addMs ? 0 : normalCdf((Math.log(bound - addMs) - Math.log(median)) / sigma);
    const p = cdf - below;
    const rest = 1 - below;
    below = cdf;
    if (p <= 0) continue;
    const c = rng.binomial(remaining, Math.min(1, p / rest));
    out[k] = c;
    remaining -= c;
  }
  out[LATENCY_BUCKETS_MS.length] = remaining;
  return out;
}

/**
 * Requests and errors of `units` node-ticks alike (a group of nodes over one tick, or one node
 * over a window of ticks): requests with per-node-tick noise, the background 5xx at `background`
 * with the error rate's per-node-tick noise, and the errors the module's effect adds (`extra`;
 * a crash fails every request). One model for the regime's totals and the gates' per-node view.
 */
export function drawTraffic(rng: Rng, tr: TrafficSpec, units: number, perUnit: number, background: number, effect: Effect | null, ramp: number): { requests: number; background: number; extra: number } {
  const m = perUnit;
  const noise = tr.noise;
  const requests = rng.count(units * m, units * (m + (noise * m) ** 2));
  if (effect?.crash) return { requests, background: 0, extra: requests };
  const r = background;
  const overdispersion = Math.exp(noise * noise) - 1;
  const bg = rng.count(requests * r, requests * r * (1 - r) + units * (m * r) ** 2 * overdispersion, requests);
  const extra = effect && effect.error_rate > 0 ? rng.binomial(requests - bg, effect.error_rate * ramp) : 0;
  return { requests, background: bg, extra };
}

/** One node as a window of traffic sees it: what it serves, and how much background it has. */
export interface NodeWindow {
  /** Ticks in the window. */
  readonly ticks: number;
  /** Requests per node per tick. */
  readonly perTick: number;
  /** The node's background 5xx ratio (the fleet's, a bad node's, a burst's). */
  readonly background: number;
  /** What the module does with what the node serves (null: it handles it). */
  readonly effect: Effect | null;
  /** How far the effect's ramp has come (0–1). */
  readonly ramp: number;
  /** Whether latency is drawn (a latency gate reads it; an error gate does not need the cost). */
  readonly latency: boolean;
}

/**
 * One node's counters over a window of `ticks` ticks, drawn with the same model as the group
 * counters (per-tick noise on requests and on the error rate, folded over the window), so a
 * node-by-node gate sees the spread between nodes that real fleets show.
 */
export function nodeCounters(rng: Rng, tr: TrafficSpec, w: NodeWindow): ModuleCounters {
  const e = w.effect;
  const { requests, background, extra } = drawTraffic(rng, tr, w.ticks, w.perTick, w.background, e, w.ramp);
  const errors = background + extra;
  const latency = w.latency
    ? latencyHistogram(rng, tr, requests, 1, e ? e.add_latency_ms * w.ramp : 0, e ? 1 + (e.latency_factor - 1) * w.ramp : 1)
    : [...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0), requests];
  return { requests, errors, loads_attempted: 0, loads_succeeded: 0, latency_buckets: latency, counters: { degraded: e?.degrade ? requests : 0 } };
}
