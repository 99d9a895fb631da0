import type {
  Alert, CohortErrors, CohortSample, ComponentStatus, DependencySignal, ExternalChange, ModuleErrors, RolloutChange, Sample,
  StatusIndicator, StatusPoll, TriageInput, VendorStatus,
} from '@failsmall/core';
import { Rng } from '../rng.ts';
import type { ExternalChangeEvent, RolloutEvent, TriageEvent, TriageScenario } from './types.ts';

/**
 * The traffic model's fixed numbers. They are not scenario keys because no scenario needs
 * another value; docs/triage.md lists them.
 */
export const TRIAGE_MODEL = {
  /** Clients retry failed requests: the request rate grows by this × the error ratio. */
  retry: 0.5,
  /** Per-step noise: relative sd of each module's background error ratio, of a dependency's latency and errors, of the never-seen share; sd of entropy in bits. */
  error_noise: 0.15,
  latency_noise: 0.04,
  dependency_error_noise: 0.2,
  never_seen_noise: 0.08,
  entropy_noise_bits: 0.05,
  /** Status pages are polled once a minute. */
  status_poll_ms: 60_000,
  /** Alert rules (Alertmanager style, each `for: 1m`). */
  alerts: {
    for_ms: 60_000,
    error_factor: 5, error_excess: 0.002,
    surge_factor: 2,
    latency_factor: 3, dependency_errors: 0.05,
  },
} as const;

/** One push of a rollout or change: the first is the event itself, the rest its regenerations. */
interface Push {
  readonly at_ms: number;
  readonly id: string;
  readonly version: string;
  readonly from: string | null;
  readonly bad: boolean;
}

interface Chain {
  readonly event: RolloutEvent | ExternalChangeEvent;
  readonly pushes: readonly Push[];
}

/**
 * Turns a triage scenario into the signals triage reads, one sample per step from `step`
 * to `duration`, in virtual time from `start`. Pure and seeded: the same scenario and seed
 * give the same input. Families the scenario lists as `unmeasured` are left out, and so are
 * the alerts that would have read them.
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
  const requests: Sample[] = [];
  const entropy: Sample[] = [];
  const fresh: Sample[] = [];
  const modules = new Map<string, ModuleErrors['samples'][number][]>(s.modules.map((m) => [m, []]));
  const cohorts = new Map<string, { push: Push; chain: Chain; samples: CohortSample[] }>();
  for (const c of model.chains) if (c.event.type === 'rollout') for (const p of c.pushes) cohorts.set(p.id, { push: p, chain: c, samples: [] });
  const deps = new Map<string, { latency: Sample[]; errors: Sample[] }>(s.dependencies.map((d) => [d.name, { latency: [], errors: [] }]));

  for (const t of times) {
    const at_ms = s.start_ms + t;
    const ratios = s.modules.map((m) => Math.min(1, s.baseline.error_ratio * Math.max(0, 1 + TRIAGE_MODEL.error_noise * errorRng.normal()) + model.extraErrors(m, t, null)));
    const fleetRatio = Math.min(1, ratios.reduce((a, b) => a + b, 0));
    const mix = model.traffic(t);
    const rps = mix.rps * (1 + TRIAGE_MODEL.retry * fleetRatio) * Math.max(0.1, 1 + s.baseline.noise * traffic.normal());
    requests.push({ at_ms, value: rps });
    entropy.push({ at_ms, value: mix.entropy_bits + TRIAGE_MODEL.entropy_noise_bits * traffic.normal() });
    fresh.push({ at_ms, value: clamp01(mix.never_seen * (1 + TRIAGE_MODEL.never_seen_noise * traffic.normal())) });
    const perStep = Math.round(rps * (s.step_ms / 1000));
    s.modules.forEach((m, i) => {
      modules.get(m)?.push({ at_ms, requests: perStep, errors: errorRng.binomial(perStep, ratios[i] ?? 0) });
    });
    for (const [, c] of cohorts) {
      if (t < c.push.at_ms) continue;
      const share = model.pushShare(c.chain, c.push, t);
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
    ...(measured(d.vendor === null ? 'dependencies' : 'vendor_apis') ? {
      latency_ms: { baseline: d.latency_ms, samples: deps.get(d.name)?.latency ?? [] },
      error_ratio: { baseline: d.error_ratio, samples: deps.get(d.name)?.errors ?? [] },
    } : {}),
  }));
  const requestSeries = { baseline: s.baseline.rps, samples: requests };
  const input: TriageInput = {
    ...(measured('request_rate') ? { requests: requestSeries } : {}),
    sources: {
      ...(measured('source_entropy') ? { entropy_bits: { baseline: s.baseline.entropy_bits, samples: entropy } } : {}),
      ...(measured('never_seen_sources') ? { never_seen_share: { baseline: s.baseline.never_seen_share, samples: fresh } } : {}),
    },
    errors: { by_module: byModule, ...(measured('errors_by_cohort') ? { by_cohort: byCohort } : {}) },
    ...(measured('changes') ? { changes: model.changes() } : {}),
    dependencies,
    vendors: measured('vendor_status') ? model.statusPages(times) : [],
    alerts: [],
  };
  return { ...input, alerts: alerts(input) };
}

/** The scenario's events as functions of virtual time. */
class FleetModel {
  readonly chains: readonly Chain[];
  readonly #s: TriageScenario;

  constructor(s: TriageScenario, seed: number) {
    this.#s = s;
    const regen = new Rng(seed, 5);
    this.chains = s.events.flatMap((e) => (e.type === 'rollout' || e.type === 'external_change' ? [{ event: e, pushes: pushesOf(e, s.duration_ms, regen) }] : []));
  }

  /** Extra error ratio on module `m` at `t`: over the whole fleet, or on one side of a push's cohort. */
  extraErrors(m: string, t: number, side: { push: Push; chain: Chain; has: boolean } | null): number {
    let extra = 0;
    for (const e of this.#s.events) {
      if (!e.errors || !e.errors.modules.includes(m)) continue;
      const strength = e.errors.ratio * rampIn(t - e.at_ms - e.errors.delay_ms, e.ramp_ms) * (ended(e, t) ? 0 : 1);
      if (strength === 0) continue;
      const chain = this.chains.find((c) => c.event === e);
      extra += strength * (chain ? this.#badShare(chain, t, side) : 1);
    }
    return extra;
  }

  /** Share of nodes serving `push` at `t`. */
  pushShare(chain: Chain, push: Push, t: number): number {
    const cur = this.#current(chain, t);
    if (!cur) return 0;
    const i = chain.pushes.indexOf(push);
    if (i === cur.index) return cur.share;
    if (i === cur.index - 1) return 1 - cur.share;
    return 0;
  }

  /** Request rate, entropy and never-seen share of the traffic mix at `t` (before retries and noise). */
  traffic(t: number): { rps: number; entropy_bits: number; never_seen: number } {
    const b = this.#s.baseline;
    let crowd = 0;
    let crowdFresh = 0;
    let shift = 0;
    const attacks: { rps: number; bits: number; fresh: number }[] = [];
    for (const e of this.#s.events) {
      const i = intensity(e, t);
      if (i === 0) continue;
      if (e.type === 'flash_crowd') {
        const extra = b.rps * (e.rate - 1) * i;
        crowd += extra;
        crowdFresh += extra * e.never_seen;
        shift += e.entropy_shift_bits * i;
      } else if (e.type === 'ddos') {
        attacks.push({ rps: b.rps * (e.rate - 1) * i, bits: e.source_entropy_bits, fresh: e.never_seen });
      }
    }
    const usual = b.rps + crowd;
    const total = usual + attacks.reduce((a, x) => a + x.rps, 0);
    // The attack's prefixes are disjoint from the usual clients': the mix's entropy is the
    // entropy of the choice between the parts plus each part's own, weighted by its share.
    const parts = [{ p: usual / total, bits: b.entropy_bits + shift }, ...attacks.map((a) => ({ p: a.rps / total, bits: a.bits }))];
    const entropy_bits = parts.reduce((h, x) => h + (x.p > 0 ? -x.p * Math.log2(x.p) + x.p * x.bits : 0), 0);
    const never_seen = (b.rps * b.never_seen_share + crowdFresh + attacks.reduce((a, x) => a + x.rps * x.fresh, 0)) / total;
    return { rps: total, entropy_bits, never_seen };
  }

  /** Latency multiplier and extra error ratio of a dependency at `t`. */
  dependencyLoad(name: string, vendor: string | null, t: number): { latency: number; errors: number } {
    let latency = 1;
    let errors = 0;
    for (const e of this.#s.events) {
      const chain = this.chains.find((c) => c.event === e);
      const i = chain ? this.#badShare(chain, t, null) * rampIn(t - e.at_ms, e.ramp_ms) * (ended(e, t) ? 0 : 1) : intensity(e, t);
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

  changes(): { rollouts: RolloutChange[]; external: ExternalChange[] } {
    const rollouts: RolloutChange[] = [];
    const external: ExternalChange[] = [];
    for (const c of this.chains) {
      for (const p of c.pushes) {
        const e = c.event;
        if (e.type === 'rollout') {
          rollouts.push({ id: p.id, artifact: e.artifact, module: e.module, kind: e.kind, version: p.version, ...(p.from !== null ? { from_version: p.from } : {}), started_at_ms: this.#s.start_ms + p.at_ms });
        } else {
          external.push({
            id: p.id, summary: e.summary, timestamp: new Date(this.#s.start_ms + p.at_ms).toISOString(), ...(e.source !== null ? { source: e.source } : {}),
            services: e.services, links: e.links, custom_details: e.custom_details,
          });
        }
      }
    }
    return { rollouts, external };
  }

  statusPages(times: readonly number[]): VendorStatus[] {
    const every = Math.max(TRIAGE_MODEL.status_poll_ms, this.#s.step_ms);
    return this.#s.vendors.map((v) => ({
      vendor: v.name,
      polls: times.filter((t, i) => i === 0 || Math.floor(t / every) !== Math.floor((times[i - 1] ?? 0) / every)).map((t): StatusPoll => {
        const down = this.#s.events.some((e) => e.type === 'status_page_down' && e.vendor === v.name && t >= e.at_ms && !ended(e, t));
        if (down) return { at_ms: this.#s.start_ms + t, reachable: false };
        let indicator: StatusIndicator = 'none';
        const components = new Map<string, ComponentStatus>(v.components.map((c) => [c, 'operational']));
        for (const e of this.#s.events) {
          if (ended(e, t)) continue;
          const report = e.type === 'vendor_outage' && e.vendor === v.name && e.status && t >= e.at_ms + e.status.after_ms ? e.status
            : e.type === 'vendor_incident' && e.vendor === v.name && t >= e.at_ms ? e : undefined;
          if (!report) continue;
          if (INDICATOR_RANK[report.indicator] > INDICATOR_RANK[indicator]) indicator = report.indicator;
          for (const c of report.components) components.set(c.name, c.status);
        }
        return { at_ms: this.#s.start_ms + t, reachable: true, indicator, components: [...components].map(([name, status]) => ({ name, status })) };
      }),
    }));
  }

  /** The push most nodes are moving to at `t`, and the share that has it. */
  #current(chain: Chain, t: number): { index: number; share: number } | undefined {
    if (ended(chain.event, t)) return undefined;
    let index = -1;
    chain.pushes.forEach((p, i) => { if (p.at_ms <= t) index = i; });
    const push = chain.pushes[index];
    if (!push) return undefined;
    const e = chain.event;
    const stages = e.type === 'rollout' ? e.stages : [{ after_ms: 0, share: 1 }];
    return { index, share: stageShare(stages, t - push.at_ms, this.#s.propagation_ms) };
  }

  /** Share of nodes serving a bad version of the chain at `t`; on one side of a cohort when `side` is given. */
  #badShare(chain: Chain, t: number, side: { push: Push; chain: Chain; has: boolean } | null): number {
    const cur = this.#current(chain, t);
    if (!cur) return 0;
    const now = chain.pushes[cur.index];
    const before = chain.pushes[cur.index - 1];
    const badNow = now?.bad ? 1 : 0;
    const badBefore = before?.bad ? 1 : 0;
    if (side && side.chain === chain) {
      const i = chain.pushes.indexOf(side.push);
      if (side.has) return side.push.bad ? 1 : 0;
      // The nodes without this push serve the other of the two latest versions.
      if (i === cur.index) return badBefore;
      if (i === cur.index - 1) return badNow;
    }
    return cur.share * badNow + (1 - cur.share) * badBefore;
  }
}

const INDICATOR_RANK: Readonly<Record<StatusIndicator, number>> = { none: 0, maintenance: 0, minor: 1, major: 2, critical: 3 };

function pushesOf(e: RolloutEvent | ExternalChangeEvent, duration: number, rng: Rng): Push[] {
  const bad = e.errors !== null || e.strains.length > 0;
  const version = e.type === 'rollout' ? e.version : e.id;
  const from = e.type === 'rollout' ? e.from : null;
  const out: Push[] = [{ at_ms: e.at_ms, id: e.id, version, from, bad }];
  const r = e.regenerate;
  if (!r) return out;
  for (let t = e.at_ms + r.every_ms, n = 2; t < duration && (e.until_ms === null || t < e.until_ms); t += r.every_ms, n++) {
    const b = r.bad_share;
    const p = b.from + (b.to - b.from) * Math.min(1, (t - e.at_ms) / b.over_ms);
    const prev = out[out.length - 1];
    out.push({ at_ms: t, id: `${e.id}.${n}`, version: `${version}.${n}`, from: prev?.version ?? from, bad: bad && rng.next() < p });
  }
  return out;
}

/** Share of nodes at `dt` after a push: each stage's share is reached within `propagation`. */
function stageShare(stages: readonly { after_ms: number; share: number }[], dt: number, propagation: number): number {
  let prev = 0;
  let share = 0;
  for (const st of stages) {
    if (dt < st.after_ms) break;
    share = prev + (st.share - prev) * Math.min(1, propagation > 0 ? (dt - st.after_ms) / propagation : 1);
    prev = st.share;
  }
  return share;
}

/** 0 before the event, rising to 1 over its ramp, 0 again after `until`. */
function intensity(e: TriageEvent, t: number): number {
  if (ended(e, t)) return 0;
  return rampIn(t - e.at_ms, e.ramp_ms);
}

function rampIn(dt: number, ramp: number): number {
  if (dt < 0) return 0;
  return ramp > 0 ? Math.min(1, dt / ramp) : 1;
}

function ended(e: TriageEvent, t: number): boolean {
  return e.until_ms !== null && t >= e.until_ms;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * The alerts an Alertmanager would have raised from the measured series: errors per
 * module, a traffic surge, and dependency latency and errors, each held for one minute.
 */
function alerts(input: TriageInput): Alert[] {
  const a = TRIAGE_MODEL.alerts;
  const out: Alert[] = [];
  const fire = (name: string, labels: Record<string, string>, series: readonly { at_ms: number; on: boolean }[]) => {
    let since: number | null = null;
    for (const x of series) {
      if (!x.on) { since = null; continue; }
      since ??= x.at_ms;
      if (x.at_ms - since >= a.for_ms) { out.push({ name, started_at_ms: x.at_ms, labels }); return; }
    }
  };
  for (const m of input.errors?.by_module ?? []) {
    fire('HighErrorRate', { module: m.module }, m.samples.map((x) => {
      const r = x.requests > 0 ? x.errors / x.requests : 0;
      return { at_ms: x.at_ms, on: r >= a.error_factor * m.baseline && r - m.baseline >= a.error_excess };
    }));
  }
  const req = input.requests;
  if (req) fire('TrafficSurge', {}, req.samples.map((x) => ({ at_ms: x.at_ms, on: x.value >= a.surge_factor * req.baseline })));
  for (const d of input.dependencies ?? []) {
    const lat = d.latency_ms;
    if (lat) fire('DependencyLatencyHigh', { dependency: d.name }, lat.samples.map((x) => ({ at_ms: x.at_ms, on: x.value >= a.latency_factor * lat.baseline })));
    if (d.error_ratio) fire('DependencyErrors', { dependency: d.name }, d.error_ratio.samples.map((x) => ({ at_ms: x.at_ms, on: x.value >= a.dependency_errors })));
  }
  return out.sort((x, y) => x.started_at_ms - y.started_at_ms);
}
