import type { CohortErrors, CohortSample, DependencySignal, MeasuredSeries, ModuleErrors, RequestMixSignals, Sample, TriageInput } from '@failsmall/core';
import { Rng } from '../rng.ts';
import { alertsOf } from './alerts.ts';
import { TRIAGE_MODEL } from './model.ts';
import { Chains, type Chain, type CohortSide, type Push } from './pushes.ts';
import { MixSeries } from './request-mix.ts';
import { statusPages } from './status-pages.ts';
import { clamp01, ended, intensity, rampIn } from './strength.ts';
import { expectedRate, trafficAt } from './traffic.ts';
import type { TriageEvent, TriageScenario } from './types.ts';

export { TRIAGE_MODEL } from './model.ts';

/**
 * Turns a triage scenario into the signals triage reads, one sample per step from `step`
 * to `duration`, in virtual time from `start`. Pure and seeded: the same scenario and seed
 * give the same input. Families the scenario lists as `unmeasured` are left out, and so are
 * the alerts that would have read them. Each family draws its noise from its own stream, so
 * a family added to the language leaves the others' samples as they were.
 *
 * Examples
 *   const input = generateTriageInput(scenario);
 *   triage(input, scenario.start_ms + 20 * 60_000);
 */
export function generateTriageInput(s: TriageScenario, opts: { seed?: number } = {}): TriageInput {
  const seed = opts.seed ?? s.seed;
  const model = new FleetModel(s, seed);
  const step = s.step_ms;
  const times: number[] = [];
  for (let t = step; t <= s.duration_ms; t += step) times.push(t);

  const traffic = new Rng(seed, 1);
  const errorRng = new Rng(seed, 2);
  const cohortRng = new Rng(seed, 3);
  const depRng = new Rng(seed, 4);
  const asked = new MixSeries(new Rng(seed, 6));
  const requests: Sample[] = [];
  const entropy: Sample[] = [];
  const fresh: Sample[] = [];
  const modules = new Map<string, ModuleErrors['samples'][number][]>(s.modules.map((m) => [m, []]));
  const cohorts = new Map<string, { push: Push; chain: Chain; samples: CohortSample[] }>();
  for (const c of model.chains.all) if (c.event.type === 'rollout') for (const p of c.pushes) cohorts.set(p.id, { push: p, chain: c, samples: [] });
  const deps = new Map<string, { latency: Sample[]; errors: Sample[] }>(s.dependencies.map((d) => [d.name, { latency: [], errors: [] }]));

  for (const t of times) {
    const at_ms = s.start_ms + t;
    const background = s.modules.map(() => s.baseline.error_ratio * Math.max(0, 1 + TRIAGE_MODEL.error_noise * errorRng.normal()));
    const ratios = s.modules.map((m, i) => Math.min(1, (background[i] ?? 0) + model.extraErrors(m, t, null)));
    const mix = trafficAt(s, t, (e) => model.strength(e, t));
    const rps = mix.rps * model.retried(t, background, ratios) * Math.max(0.1, 1 + s.baseline.noise * traffic.normal());
    requests.push({ at_ms, value: rps });
    entropy.push({ at_ms, value: mix.entropy_bits + TRIAGE_MODEL.entropy_noise_bits * traffic.normal() });
    fresh.push({ at_ms, value: clamp01(mix.never_seen * (1 + TRIAGE_MODEL.never_seen_noise * traffic.normal())) });
    asked.push(at_ms, mix.mix);
    const perStep = Math.round(rps * (s.step_ms / 1000));
    s.modules.forEach((m, i) => {
      modules.get(m)?.push({ at_ms, requests: perStep, errors: errorRng.binomial(perStep, ratios[i] ?? 0) });
    });
    for (const [, c] of cohorts) {
      if (t < c.push.at_ms) continue;
      const share = model.chains.pushShare(c.chain, c.push, t);
      const withN = Math.round(s.nodes * share);
      const side = (has: boolean) => {
        const nodes = has ? withN : s.nodes - withN;
        const req = Math.round(perStep * (has ? share : 1 - share));
        const ratio = Math.min(1, s.modules.reduce((a, m) => a + s.baseline.error_ratio + model.extraErrors(m, t, { push: c.push, chain: c.chain, has }), 0));
        return { nodes, requests: req, errors: cohortRng.binomial(req, ratio) };
      };
      c.samples.push({ at_ms, with_version: side(true), without_version: side(false) });
    }
    for (const d of s.dependencies) {
      const load = model.dependencyLoad(d.name, d.vendor, t);
      const series = deps.get(d.name);
      series?.latency.push({ at_ms, value: d.latency_ms * load.latency * Math.max(0.2, 1 + TRIAGE_MODEL.latency_noise * depRng.normal()) });
      series?.errors.push({ at_ms, value: clamp01(d.error_ratio * Math.max(0, 1 + TRIAGE_MODEL.dependency_error_noise * depRng.normal()) + load.errors) });
    }
  }

  const measured = (u: TriageScenario['unmeasured'][number]) => !s.unmeasured.includes(u);
  const byModule: ModuleErrors[] = s.modules.map((m) => ({ module: m, baseline: s.baseline.error_ratio, samples: modules.get(m) ?? [] }));
  const byCohort: CohortErrors[] = [...cohorts.values()].map((c) => ({ rollout: c.push.id, version: c.push.version, baseline: s.baseline.error_ratio * s.modules.length, samples: c.samples }));
  // An unmeasured dependency is still known from the graph: declared, with no series.
  const dependencies: DependencySignal[] = s.dependencies.map((d) => ({
    name: d.name, ...(d.vendor !== null ? { vendor: d.vendor } : {}), used_by: d.used_by, ...(d.depends_on.length > 0 ? { depends_on: d.depends_on } : {}),
    ...(d.in_request_path ? { in_request_path: true } : {}),
    ...(measured(d.vendor === null ? 'dependencies' : 'vendor_apis') ? {
      latency_ms: { baseline: d.latency_ms, samples: deps.get(d.name)?.latency ?? [] },
      error_ratio: { baseline: d.error_ratio, samples: deps.get(d.name)?.errors ?? [] },
    } : {}),
  }));
  const requestSeries: MeasuredSeries = { baseline: s.baseline.rps, samples: requests, ...(s.schedule.length > 0 ? { expected: expectedSeries(s, times) } : {}) };
  const requestMix: RequestMixSignals = asked.signals(s.baseline.mix);
  const input: TriageInput = {
    ...(measured('request_rate') ? { requests: requestSeries } : {}),
    sources: {
      ...(measured('source_entropy') ? { entropy_bits: { baseline: s.baseline.entropy_bits, samples: entropy } } : {}),
      ...(measured('never_seen_sources') ? { never_seen_share: { baseline: s.baseline.never_seen_share, samples: fresh } } : {}),
    },
    ...(measured('request_mix') ? { request_mix: requestMix } : {}),
    errors: { by_module: byModule, ...(measured('errors_by_cohort') ? { by_cohort: byCohort } : {}) },
    ...(measured('changes') ? { changes: model.chains.records() } : {}),
    dependencies,
    vendors: measured('vendor_status') ? statusPages(s, times) : [],
    alerts: [],
  };
  return { ...input, alerts: alertsOf(input, s) };
}

/** The expected request rate where the schedule moves it: a sample at each step where it changes. */
function expectedSeries(s: TriageScenario, times: readonly number[]): Sample[] {
  const out: Sample[] = [];
  let last = s.baseline.rps;
  for (const t of times) {
    const value = expectedRate(s, t);
    if (value !== last) out.push({ at_ms: s.start_ms + t, value });
    last = value;
  }
  return out;
}

/** The scenario's events as functions of virtual time. */
class FleetModel {
  readonly chains: Chains;
  readonly #s: TriageScenario;

  constructor(s: TriageScenario, seed: number) {
    this.#s = s;
    this.chains = new Chains(s, new Rng(seed, 5));
  }

  /**
   * Extra error ratio on module `m` at `t`: over the whole fleet, or on one side of a push's
   * cohort; only from the events `only` keeps, when given.
   */
  extraErrors(m: string, t: number, side: CohortSide | null, only?: (e: TriageEvent) => boolean): number {
    let extra = 0;
    for (const e of this.#s.events) {
      if (!e.errors || !e.errors.modules.includes(m) || (only && !only(e))) continue;
      const strength = e.errors.ratio * rampIn(t - e.at_ms - e.errors.delay_ms, e.ramp_ms) * (ended(e, t) ? 0 : 1);
      if (strength === 0) continue;
      const chain = this.chains.of(e);
      extra += strength * (chain ? this.chains.badShare(chain, t, side) : 1);
    }
    return extra;
  }

  /**
   * What retries multiply the request rate by at `t`. An event with `retries: f` adds its
   * failed requests × (f − 1); the others' errors add the model's usual retry × error ratio.
   * `background` is each module's background error ratio at `t`, `ratios` its whole ratio.
   */
  retried(t: number, background: readonly number[], ratios: readonly number[]): number {
    const storms = this.#s.events.filter((e) => e.retries !== null && e.errors !== null);
    const usual = (rs: readonly number[]) => Math.min(1, rs.reduce((a, b) => a + b, 0));
    if (storms.length === 0) return 1 + TRIAGE_MODEL.retry * usual(ratios);
    const m = this.#s.modules;
    const calm = m.map((x, i) => Math.min(1, (background[i] ?? 0) + this.extraErrors(x, t, null, (e) => e.retries === null)));
    const storm = storms.reduce((a, e) => a + ((e.retries ?? 1) - 1) * m.reduce((b, x) => b + this.extraErrors(x, t, null, (y) => y === e), 0), 0);
    return 1 + TRIAGE_MODEL.retry * usual(calm) + storm;
  }

  /** How strong an event is at `t`: for a rollout or change, also the share of nodes serving its bad version. */
  strength(e: TriageEvent, t: number): number {
    const chain = this.chains.of(e);
    return chain ? this.chains.badShare(chain, t, null) * rampIn(t - e.at_ms, e.ramp_ms) * (ended(e, t) ? 0 : 1) : intensity(e, t);
  }

  /** Latency multiplier and extra error ratio of a dependency at `t`. */
  dependencyLoad(name: string, vendor: string | null, t: number): { latency: number; errors: number } {
    let latency = 1;
    let errors = 0;
    for (const e of this.#s.events) {
      const i = this.strength(e, t);
      if (i === 0) continue;
      if ((e.type === 'dependency_degradation' && e.dependency === name) || (e.type === 'vendor_outage' && vendor !== null && e.vendor === vendor)) {
        latency *= 1 + (e.latency - 1) * i;
        errors += e.error_ratio * i;
      }
      for (const st of e.strains) {
        if (st.dependency !== name) continue;
        latency *= 1 + (st.latency - 1) * i;
        errors += st.errors * i;
      }
    }
    return { latency, errors };
  }
}
