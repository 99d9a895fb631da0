import { refName, weighed, type ClassEvidence, type TriageContext } from './context.ts';
import { clock, pct, span, times } from './format.ts';
import type { Evidence, MissingSignal } from './hypothesis.ts';
import type { DependencySignal, MeasuredSeries } from './input.ts';
import { peak, ramp, readings, upTo, type Reading } from './series.ts';
import { DEPENDENCY, READING_WINDOW_MS } from './weights.ts';

/** One dependency read over the incident: how degraded it got, when it began, and the evidence. */
export interface DependencyReading {
  readonly dependency: DependencySignal;
  /** false when it has neither a latency nor an error series. */
  readonly measured: boolean;
  /** 0..1: how far its latency or its errors went past the thresholds of DEPENDENCY. */
  readonly degradation: number;
  readonly latency_ratio: number | null;
  readonly error_ratio: number | null;
  readonly onset_ms: number | null;
  /** Modules whose errors rose and that call it, directly or through other dependencies. */
  readonly callers: readonly string[];
  readonly items: readonly Evidence[];
  readonly score: number;
  /** "p99 latency 4.2× baseline (210 ms vs 50 ms) since 11:22" */
  readonly summary: string;
}

/** What a dependency's numbers say before the graph is consulted. */
interface Level {
  readonly d: DependencySignal;
  readonly degradation: number;
  readonly gLat: number;
  readonly gErr: number;
  readonly latency: { ratio: number; peak: number; baseline: number } | null;
  readonly errors: { ratio: number; baseline: number } | null;
  readonly onset_ms: number | null;
}

/**
 * Reads every dependency (ours and vendors' APIs): its p99 latency and error ratio at their
 * one-minute peaks since the lead window, and when it began to degrade against the first
 * error. The graph then says which erroring modules reach it (directly or through another
 * dependency's `depends_on`) and whether it only degraded after something it calls did,
 * which makes it a symptom rather than a cause.
 */
export function readDependencies(ctx: TriageContext): DependencyReading[] {
  const deps = ctx.input.dependencies ?? [];
  const levels = new Map(deps.map((d) => [d.name, level(ctx, d)]));
  return deps.map((d) => judge(ctx, levels.get(d.name) ?? level(ctx, d), deps, levels));
}

/** The internal-degradation hypothesis: the best-supported of our own dependencies. */
export function internalEvidence(ctx: TriageContext, all: readonly DependencyReading[]): ClassEvidence {
  const deps = all.filter((r) => r.dependency.vendor === undefined);
  const measured = deps.filter((r) => r.measured);
  const missing = missingSeries(deps);
  if (measured.length === 0) missing.push({ signal: 'dependencies', sentence: 'no latency or error series for any of our own dependencies' });
  const best = strongest(deps);
  const items: Evidence[] = [];
  if (!measured.some((r) => r.degradation >= 0.1) && measured.length > 0) items.push(allHealthy(measured, 'every one of our dependencies'));
  if (best && best.score > 0) {
    items.push(...best.items);
    const callers = best.callers.length > 0 ? best.callers : best.dependency.used_by;
    const users = callers.length > 0 ? `; it is called by ${callers.join(', ')}` : '';
    return {
      items: weighed(items), missing, target: { kind: 'dependency', id: best.dependency.name },
      first_action: best.measured
        ? `fail over or shed load from ${best.dependency.name} (${best.summary}${users})`
        : `measure ${best.dependency.name} and check it first: it is not measured, and ${best.summary}`,
    };
  }
  return { items: weighed(items), missing, first_action: measured.length > 0 ? 'look for a dependency we do not measure: every measured one is within its baseline' : 'find the slow or failing dependency: none of ours is measured' };
}

/** The reading with the highest score, if any. */
export function strongest(deps: readonly DependencyReading[]): DependencyReading | undefined {
  return [...deps].sort((a, b) => b.score - a.score || b.degradation - a.degradation)[0];
}

export function allHealthy(deps: readonly DependencyReading[], what: string, more = ''): Evidence {
  const worst = [...deps].sort((a, b) => (b.latency_ratio ?? 0) - (a.latency_ratio ?? 0))[0];
  const detail = worst?.latency_ratio !== null && worst?.latency_ratio !== undefined ? ` (worst p99: ${worst.dependency.name} at ${times(worst.latency_ratio)} baseline)` : '';
  return { signal: deps.some((d) => d.dependency.vendor !== undefined) ? 'vendor_apis' : 'dependencies', weight: DEPENDENCY.allHealthy, value: worst?.latency_ratio ?? null, threshold: DEPENDENCY.latency.from, unit: '× baseline',
    sentence: `${what} stayed within its baseline${detail}${more}` };
}

export function missingSeries(deps: readonly DependencyReading[]): MissingSignal[] {
  return deps.filter((r) => !r.measured).map((r) => ({ signal: r.dependency.vendor !== undefined ? 'vendor_apis' : 'dependencies', sentence: `${r.dependency.name} has no latency or error series` }));
}

function level(ctx: TriageContext, d: DependencySignal): Level {
  const lat = series(d.latency_ms, ctx);
  const err = series(d.error_ratio, ctx);
  const latPeak = lat && d.latency_ms && d.latency_ms.baseline > 0 ? peak(lat, (r) => r.value) : undefined;
  const latency = latPeak && d.latency_ms ? { ratio: latPeak.value / d.latency_ms.baseline, peak: latPeak.value, baseline: d.latency_ms.baseline } : null;
  const errPeak = err ? peak(err, (r) => r.value) : undefined;
  const errors = errPeak && d.error_ratio ? { ratio: errPeak.value, baseline: d.error_ratio.baseline } : null;
  const gLat = latency ? ramp(latency.ratio, DEPENDENCY.latency.from, DEPENDENCY.latency.to) : 0;
  const gErr = errors ? ramp(errors.ratio, DEPENDENCY.errors.from, DEPENDENCY.errors.to) : 0;
  return { d, degradation: Math.max(gLat, gErr), gLat, gErr, latency, errors, onset_ms: firstDegraded(lat, d.latency_ms, err) };
}

function judge(ctx: TriageContext, l: Level, all: readonly DependencySignal[], levels: ReadonlyMap<string, Level>): DependencyReading {
  const d = l.d;
  const measured = d.latency_ms !== undefined || d.error_ratio !== undefined;
  const what = d.vendor !== undefined ? `${d.vendor}'s ${d.name}` : d.name;
  const signal = d.vendor !== undefined ? 'vendor_apis' : 'dependencies';
  const callers = erroringCallers(ctx, d, all);
  const parts = [
    l.latency && l.gLat > 0 ? `p99 latency ${times(l.latency.ratio)} baseline (${l.latency.peak.toFixed(0)} ms vs ${l.latency.baseline.toFixed(0)} ms)` : undefined,
    l.errors && l.gErr > 0 ? `errors ${pct(l.errors.ratio)} vs ${pct(l.errors.baseline)}` : undefined,
  ].filter((p) => p !== undefined);
  const summary = measured
    ? `${parts.join(', ') || 'within baseline'}${l.onset_ms !== null ? ` since ${clock(l.onset_ms)}` : ''}`
    : `${callers.join(', ') || 'nothing that erred'} ${callers.length === 1 ? 'calls' : 'call'} it and ${callers.length === 1 ? 'its' : 'their'} errors rose`;
  const items: (Evidence | undefined)[] = [];
  const g = l.degradation;
  if (!measured) {
    if (callers.length > 0) {
      items.push({ signal, weight: DEPENDENCY.unmeasuredCaller, value: null, sentence: `${callers.join(', ')}, whose errors rose, ${callers.length === 1 ? 'calls' : 'call'} ${what}, which is not measured` });
      // By elimination: every measured dependency of those modules is healthy, so the unseen one
      // is where the errors can come from.
      const seen = all.filter((x) => x !== d && (x.latency_ms !== undefined || x.error_ratio !== undefined) && x.used_by.some((m) => callers.includes(m)));
      const others = all.filter((x) => x !== d && x.used_by.some((m) => callers.includes(m)));
      if (seen.length > 0 && seen.length === others.length && seen.every((x) => (levels.get(x.name)?.degradation ?? 0) < 0.1)) {
        items.push({ signal, weight: DEPENDENCY.onlyUnseen, value: null, sentence: `every measured dependency of ${callers.join(', ')} stayed healthy (${seen.map((x) => x.name).join(', ')}): ${what}, not measured, is the one left` });
      }
    }
  } else if (g > 0) {
    items.push({ signal, weight: DEPENDENCY.degraded * g, value: l.gLat >= l.gErr ? l.latency?.ratio ?? null : l.errors?.ratio ?? null,
      ...(l.gLat >= l.gErr ? { baseline: 1, unit: '× baseline' } : { baseline: l.errors?.baseline ?? 0, unit: 'ratio' }), sentence: `${what} degraded: ${summary}` });
    if (callers.length > 0) items.push({ signal: 'errors_by_module', weight: DEPENDENCY.usedByErroring * g, value: null, sentence: `${what} is called by ${callers.join(', ')}, whose errors rose` });
    if (l.onset_ms !== null) {
      const lead = ctx.ref_ms - l.onset_ms;
      const ref = refName(ctx);
      if (lead >= -DEPENDENCY.beforeSlackMs) {
        items.push({ signal, weight: DEPENDENCY.before * g, value: lead / 1000, threshold: -DEPENDENCY.beforeSlackMs / 1000, unit: 's',
          sentence: `${what} began to degrade ${span(lead)} ${lead >= 0 ? 'before' : 'after'} ${ref}` });
      } else if (-lead >= DEPENDENCY.afterMs) {
        items.push({ signal, weight: DEPENDENCY.after * g, value: lead / 1000, threshold: -DEPENDENCY.afterMs / 1000, unit: 's',
          sentence: `${what} began to degrade ${span(lead)} after ${ref}: a consequence, not the cause` });
      }
      const upstream = (d.depends_on ?? []).map((n) => levels.get(n)).find((u) => u !== undefined && u.degradation >= 0.1 && u.onset_ms !== null && l.onset_ms !== null && u.onset_ms <= l.onset_ms);
      if (upstream && upstream.onset_ms !== null) {
        const u = upstream.d.vendor !== undefined ? `${upstream.d.vendor}'s ${upstream.d.name}` : upstream.d.name;
        items.push({ signal, weight: DEPENDENCY.downstream * g, value: (l.onset_ms - upstream.onset_ms) / 1000, unit: 's',
          sentence: `${what} calls ${u}, which began to degrade ${span(l.onset_ms - upstream.onset_ms)} earlier: a symptom of it` });
      }
    }
  }
  const kept = weighed(items);
  return { dependency: d, measured, degradation: g, latency_ratio: l.latency?.ratio ?? null, error_ratio: l.errors?.ratio ?? null, onset_ms: l.onset_ms, callers, items: kept, score: kept.reduce((a, e) => a + e.weight, 0), summary };
}

/** Erroring modules that call `d`, directly or through dependencies that depend on it (a few hops). */
function erroringCallers(ctx: TriageContext, d: DependencySignal, all: readonly DependencySignal[]): string[] {
  const found = new Set<string>();
  let frontier = [d.name];
  const seen = new Set(frontier);
  for (let hop = 0; hop < 4 && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const name of frontier) {
      const dep = all.find((x) => x.name === name);
      for (const m of dep?.used_by ?? []) if (ctx.erroring.has(m)) found.add(m);
      for (const caller of all) {
        if ((caller.depends_on ?? []).includes(name) && !seen.has(caller.name)) { seen.add(caller.name); next.push(caller.name); }
      }
    }
    frontier = next;
  }
  return [...found].sort();
}

function series(s: MeasuredSeries | undefined, ctx: TriageContext): Reading[] | undefined {
  if (!s) return undefined;
  const rs = readings(upTo(s.samples, ctx.now), ctx.from_ms, READING_WINDOW_MS);
  return rs.length > 0 ? rs : undefined;
}

/** The first one-minute reading past the "degraded" start of either ramp. */
function firstDegraded(lat: Reading[] | undefined, latSeries: MeasuredSeries | undefined, err: Reading[] | undefined): number | null {
  const found: number[] = [];
  const l = lat && latSeries && latSeries.baseline > 0 ? lat.find((r) => r.value / latSeries.baseline >= DEPENDENCY.latency.from) : undefined;
  if (l) found.push(l.at_ms);
  const e = err?.find((r) => r.value >= DEPENDENCY.errors.from);
  if (e) found.push(e.at_ms);
  return found.length > 0 ? Math.min(...found) : null;
}
