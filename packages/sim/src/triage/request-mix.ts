import type { RequestMixSignals, Sample } from '@failsmall/core';
import type { Rng } from '../rng.ts';
import { TRIAGE_MODEL } from './model.ts';
import { clamp01 } from './strength.ts';
import type { RequestMix } from './types.ts';

/** Some of the traffic, and what it asks for. */
export interface MixPart {
  readonly rps: number;
  readonly mix: RequestMix;
}

/**
 * The fleet's request mix: its parts weighted by their traffic. The expensive share and the
 * cost per request are exact weighted means. The entropies use the entropy of a mixture,
 * H = Σ wᵢ Hᵢ + H(w), as an approximation: it is exact when the parts ask for disjoint things
 * (other paths, other clients) and overstates the entropy when they overlap (a GET-only flood
 * still shares GET with the usual clients). Parts with the same mix are merged first: they
 * are one population to this formula, so a pure volumetric flood leaves the mix as it was.
 *
 * Examples
 *   blendMix([{ rps: 100, mix: usual }, { rps: 300, mix: usual }])  // usual
 *   blendMix([{ rps: 100, mix: usual }, { rps: 100, mix: { ...usual, path_entropy_bits: 0 } }]).path_entropy_bits  // usual/2 + 1
 */
export function blendMix(parts: readonly MixPart[]): RequestMix {
  const merged: MixPart[] = [];
  for (const p of parts) {
    if (p.rps <= 0) continue;
    const i = merged.findIndex((m) => sameMix(m.mix, p.mix));
    const same = merged[i];
    if (same) merged[i] = { rps: same.rps + p.rps, mix: same.mix };
    else merged.push(p);
  }
  const first = merged[0];
  if (!first || merged.length === 1) return first?.mix ?? parts[0]?.mix ?? ZERO;
  const total = merged.reduce((a, p) => a + p.rps, 0);
  const w = merged.map((p) => p.rps / total);
  const choice = w.reduce((h, x) => h - x * Math.log2(x), 0);
  const mean = (f: (m: RequestMix) => number) => merged.reduce((a, p, i) => a + (w[i] ?? 0) * f(p.mix), 0);
  return {
    method_entropy_bits: mean((m) => m.method_entropy_bits) + choice,
    path_entropy_bits: mean((m) => m.path_entropy_bits) + choice,
    ua_entropy_bits: mean((m) => m.ua_entropy_bits) + choice,
    expensive_share: mean((m) => m.expensive_share),
    cost_ms: mean((m) => m.cost_ms),
  };
}

const ZERO: RequestMix = { method_entropy_bits: 0, path_entropy_bits: 0, ua_entropy_bits: 0, expensive_share: 0, cost_ms: 0 };

function sameMix(a: RequestMix, b: RequestMix): boolean {
  return a.method_entropy_bits === b.method_entropy_bits && a.path_entropy_bits === b.path_entropy_bits && a.ua_entropy_bits === b.ua_entropy_bits
    && a.expensive_share === b.expensive_share && a.cost_ms === b.cost_ms;
}

/** The request-mix series agents report, one sample per step, with noise from their own stream. */
export class MixSeries {
  readonly #rng: Rng;
  readonly #method: Sample[] = [];
  readonly #path: Sample[] = [];
  readonly #ua: Sample[] = [];
  readonly #expensive: Sample[] = [];
  readonly #cost: Sample[] = [];

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  push(at_ms: number, m: RequestMix): void {
    const n = TRIAGE_MODEL.mix_noise;
    const r = this.#rng;
    this.#method.push({ at_ms, value: Math.max(0, m.method_entropy_bits + n.entropy_bits * r.normal()) });
    this.#path.push({ at_ms, value: Math.max(0, m.path_entropy_bits + n.entropy_bits * r.normal()) });
    this.#ua.push({ at_ms, value: Math.max(0, m.ua_entropy_bits + n.entropy_bits * r.normal()) });
    this.#expensive.push({ at_ms, value: clamp01(m.expensive_share * (1 + n.expensive_share * r.normal())) });
    this.#cost.push({ at_ms, value: m.cost_ms * Math.max(0.2, 1 + n.cost * r.normal()) });
  }

  /** The series, each against the usual clients' value. */
  signals(usual: RequestMix): RequestMixSignals {
    return {
      method_entropy_bits: { baseline: usual.method_entropy_bits, samples: this.#method },
      path_entropy_bits: { baseline: usual.path_entropy_bits, samples: this.#path },
      user_agent_entropy_bits: { baseline: usual.ua_entropy_bits, samples: this.#ua },
      expensive_share: { baseline: usual.expensive_share, samples: this.#expensive },
      cost_ms_per_request: { baseline: usual.cost_ms, samples: this.#cost },
    };
  }
}
