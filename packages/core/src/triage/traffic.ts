import { weighed, type ClassEvidence, type TriageContext } from './context.ts';
import type { DependencyReading } from './dependencies.ts';
import { clock, pct, perSecond, span, times } from './format.ts';
import type { Evidence, MissingSignal } from './hypothesis.ts';
import type { MeasuredSeries } from './input.ts';
import { expectedAt, peak, ramp, readingAt, readings, upTo, type Reading } from './series.ts';
import { BYPASS, MIX, READING_WINDOW_MS, TRAFFIC } from './weights.ts';

/** The DDoS hypothesis, and what the other classes learn from the traffic. */
export interface TrafficEvidence extends ClassEvidence {
  /** A dependency in the request path whose failure explains the surge (or the drop): its class hears of it. */
  readonly explainedBy?: { readonly id: string; readonly item: Evidence };
  /**
   * Traffic that looks hostile (odd sources or an odd request mix, not just more of it) and when
   * it began: a dependency that degrades after it is under its load, a symptom.
   */
  readonly hostile?: { readonly onset_ms: number; readonly strength: number; readonly what: string };
  /** The request rate fell to TRAFFIC.drop.below of its expected rate or lower at some minute since the lead window. */
  readonly dropped: boolean;
}

/**
 * The DDoS hypothesis from the traffic itself: a surge in the request rate against what was
 * expected at that hour, whether its sources look like every day's, and whether its requests ask
 * for what users ask for. The surge is read at its one-minute peak, and the diversity and mix
 * signals at that same minute, so that "a surge with normal sources" is judged on one moment of
 * traffic. Odd sources with an odd mix count in full without a surge: an application-layer
 * attack needs no volume.
 */
export function trafficEvidence(ctx: TriageContext, deps: readonly DependencyReading[]): TrafficEvidence {
  const missing: MissingSignal[] = [];
  const requests = ctx.input.requests;
  const rate = series(requests, ctx, true);
  const entropy = series(ctx.input.sources?.entropy_bits, ctx);
  const fresh = series(ctx.input.sources?.never_seen_share, ctx);
  if (!rate) missing.push({ signal: 'request_rate', sentence: 'no request-rate series: cannot tell whether traffic surged' });
  if (!entropy) missing.push({ signal: 'source_entropy', sentence: 'no source-entropy series: cannot tell an attack from a flash crowd by the spread of client prefixes' });
  if (!fresh) missing.push({ signal: 'never_seen_sources', sentence: 'no never-seen-source share: cannot tell new attackers from returning clients' });

  const expected = (at: number) => (requests ? expectedAt(requests, at) : 1);
  const top = rate ? peak(rate.rs, (r) => r.value / expected(r.at_ms)) : undefined;
  const ratio = top ? top.value / expected(top.at_ms) : undefined;
  const low = rate ? peak(rate.rs, (r) => -r.value / expected(r.at_ms)) : undefined;
  const lowRatio = low ? low.value / expected(low.at_ms) : undefined;
  const at = top?.at_ms;
  const surge = ratio !== undefined ? ramp(ratio, TRAFFIC.surge.from, TRAFFIC.surge.to) : undefined;

  const e = entropy ? (at !== undefined ? readingAt(entropy.rs, at) : peak(entropy.rs, (r) => Math.abs(r.value - entropy.baseline))) : undefined;
  const shift = entropy && e ? e.value - entropy.baseline : undefined;
  const dEntropy = shift !== undefined ? ramp(Math.abs(shift), TRAFFIC.entropy.from, TRAFFIC.entropy.to) : undefined;
  const n = fresh ? (at !== undefined ? readingAt(fresh.rs, at) : peak(fresh.rs, (r) => r.value)) : undefined;
  const excess = fresh && n ? n.value - fresh.baseline : undefined;
  const dFresh = excess !== undefined ? ramp(excess, TRAFFIC.neverSeen.from, TRAFFIC.neverSeen.to) : undefined;
  const odd = Math.max(dEntropy ?? 0, dFresh ?? 0);
  const mix = readMix(ctx, at);
  if (!mix) missing.push({ signal: 'request_mix', sentence: 'no request-mix aggregates: an application-layer attack can only be told by its volume and sources' });
  const oddMix = mix?.anomaly ?? 0;
  // Odd sources count a quarter without a surge, in full with an odd mix; with no rate at all,
  // the diversity signals are read at their most anomalous minute and count half.
  const scale = surge === undefined ? Math.max(0.5, oddMix) : Math.max(surge, TRAFFIC.noSurgeScale, oddMix);

  const items: (Evidence | undefined)[] = [];
  if (rate && top && ratio !== undefined && surge !== undefined) {
    const against = requests?.expected !== undefined ? ' expected at that hour' : ' baseline';
    if (ratio >= TRAFFIC.surge.from) {
      items.push({ signal: 'request_rate', weight: TRAFFIC.surge.ddos * surge, value: ratio, baseline: 1, unit: '× expected',
        sentence: `request rate peaked at ${times(ratio)} its${against} (${perSecond(top.value)} vs ${perSecond(expected(top.at_ms))}) at ${clock(top.at_ms)}` });
    } else {
      items.push({ signal: 'request_rate', weight: TRAFFIC.noSurge.ddos * (1 - ramp(ratio, TRAFFIC.noSurge.below, TRAFFIC.surge.from)) * (1 - Math.max(odd, oddMix)), value: ratio, threshold: TRAFFIC.surge.from, unit: '× expected',
        sentence: `no traffic surge: the request rate peaked at ${times(ratio)} its${against}; a volumetric attack raises it` });
    }
  }
  if (low && lowRatio !== undefined && lowRatio <= TRAFFIC.drop.below) {
    items.push({ signal: 'request_rate', weight: TRAFFIC.drop.ddos, value: lowRatio, threshold: TRAFFIC.drop.below, unit: '× expected',
      sentence: `the request rate fell to ${pct(lowRatio)} of expected at ${clock(low.at_ms)}: requests are not reaching us, which an attack does not cause here` });
  }
  if (entropy && e && shift !== undefined && dEntropy !== undefined && dEntropy > 0) {
    items.push({ signal: 'source_entropy', weight: TRAFFIC.entropy.ddos * dEntropy * scale, value: e.value, baseline: entropy.baseline, unit: 'bits',
      sentence: `source entropy ${shift < 0 ? 'collapsed' : 'jumped'} to ${e.value.toFixed(1)} bits (baseline ${entropy.baseline.toFixed(1)}) at ${clock(e.at_ms)}: ${shift < 0 ? 'a few prefixes send most requests' : 'requests come from unusually many prefixes, as spoofed sources do'}` });
  }
  if (fresh && n && dFresh !== undefined && dFresh > 0) {
    items.push({ signal: 'never_seen_sources', weight: TRAFFIC.neverSeen.ddos * dFresh * scale, value: n.value, baseline: fresh.baseline, unit: 'share',
      sentence: `${pct(n.value)} of requests from prefixes never seen before (baseline ${pct(fresh.baseline)}) at ${clock(n.at_ms)}` });
  }
  if (mix && oddMix > 0) {
    items.push({ signal: 'request_mix', weight: MIX.ddos * oddMix * (0.5 + 0.5 * odd), value: oddMix, unit: 'anomaly',
      sentence: `requests ask for something unusual: ${mix.parts.join(', ')}` });
  }

  if (dEntropy !== undefined || dFresh !== undefined) {
    const diversity = Math.max(odd, oddMix);
    const signal = dEntropy !== undefined ? 'source_entropy' : 'never_seen_sources';
    const parts = [
      e && entropy ? `entropy ${e.value.toFixed(1)} bits vs ${entropy.baseline.toFixed(1)}` : undefined,
      n && fresh ? `never-seen ${pct(n.value)} vs ${pct(fresh.baseline)}` : undefined,
      mix ? (oddMix > 0 ? `an unusual request mix` : 'the usual request mix') : undefined,
    ].filter((p) => p !== undefined).join(', ');
    const crowd = surge !== undefined ? surge * (1 - ramp(diversity, TRAFFIC.flashCrowd.diversity.from, TRAFFIC.flashCrowd.diversity.to)) : 0;
    if (crowd > 0.1 && ratio !== undefined) {
      items.push({ signal, weight: TRAFFIC.flashCrowd.ddos * crowd, value: ratio, threshold: TRAFFIC.surge.from, unit: '× expected',
        sentence: `a ${times(ratio)} surge with normal source diversity (${parts}): a flash crowd, not an attack` });
    } else if (diversity === 0) {
      items.push({ signal, weight: TRAFFIC.usualSources.ddos, value: e?.value ?? n?.value ?? null, unit: dEntropy !== undefined ? 'bits' : 'share',
        sentence: `requests come from the usual sources (${parts})` });
    }
  }

  const surgeOnset = rate ? rate.rs.find((r) => r.value / expected(r.at_ms) >= TRAFFIC.surge.from)?.at_ms : undefined;
  const dropOnset = rate ? rate.rs.find((r) => r.value / expected(r.at_ms) <= TRAFFIC.drop.below)?.at_ms : undefined;
  const bypass = bypassedBy(deps, surgeOnset ?? (odd > 0 ? e?.at_ms ?? n?.at_ms : undefined), dropOnset);
  if (bypass?.ddos) items.push(bypass.ddos);
  const kept = weighed(items);
  const strength = Math.max(odd, oddMix);
  const hostileOnset = strength > 0 && !bypass ? oddOnset(ctx, surgeOnset, mix) : undefined;
  return {
    items: kept, missing, first_action: firstAction(ratio, e, entropy?.baseline, n, fresh?.baseline, mix), dropped: dropOnset !== undefined,
    ...(bypass ? { explainedBy: bypass.explains } : {}),
    ...(hostileOnset !== undefined ? { hostile: { onset_ms: hostileOnset, strength, what: mix && oddMix > odd ? 'the unusual request mix' : 'the traffic from unusual sources' } } : {}),
  };
}

/**
 * A dependency in the request path (a CDN, a scrubber) that degraded before the surge began:
 * clients bypass it and reach the origin from prefixes it never sees, which looks like an
 * attack. Before a drop: clients cannot reach us through it. Either way the traffic is its doing.
 */
function bypassedBy(deps: readonly DependencyReading[], surgeOnset: number | undefined, dropOnset: number | undefined): { ddos?: Evidence; explains: { id: string; item: Evidence } } | undefined {
  const front = deps.filter((d) => d.dependency.in_request_path === true && d.degradation >= 0.1 && d.onset_ms !== null);
  for (const [onset, what] of [[surgeOnset, 'surge'], [dropOnset, 'drop']] as const) {
    if (onset === undefined) continue;
    const d = front.filter((x) => (x.onset_ms ?? Infinity) <= onset + BYPASS.slackMs).sort((a, b) => b.degradation - a.degradation)[0];
    if (!d || d.onset_ms === null) continue;
    const name = d.dependency.vendor !== undefined ? `${d.dependency.vendor}'s ${d.dependency.name}` : d.dependency.name;
    const lead = onset - d.onset_ms;
    const when = `${span(lead)} ${lead >= 0 ? 'before' : 'after'} the ${what} began`;
    const g = d.degradation;
    const id = d.dependency.vendor ?? d.dependency.name;
    return {
      ...(what === 'surge' ? { ddos: { signal: 'dependencies' as const, weight: BYPASS.ddos * g, value: lead / 1000, threshold: -BYPASS.slackMs / 1000, unit: 's',
        sentence: `${name}, in front of us in the request path, degraded ${when}: clients bypassing it come straight to the origin, from prefixes the origin never sees` } } : {}),
      explains: { id, item: { signal: 'request_rate', weight: BYPASS.cause * g, value: lead / 1000, unit: 's',
        sentence: `${name} sits in the request path and degraded ${when}: it explains the traffic ${what}` } },
    };
  }
  return undefined;
}

/**
 * When the odd traffic began: the surge's start, or the first minute its sources or mix moved
 * past the start of their ramps. (Taking a third of the way, as first written, put the onset of
 * a ramping, blended attack after the dependency it strains had already degraded.)
 */
function oddOnset(ctx: TriageContext, surgeOnset: number | undefined, mix: MixReading | undefined): number | undefined {
  const first = (s: MeasuredSeries | undefined, moved: (v: number, b: number) => boolean) => {
    const sr = series(s, ctx);
    return sr?.rs.find((r) => moved(r.value, sr.baseline))?.at_ms;
  };
  const m = ctx.input.request_mix;
  const times = [
    surgeOnset,
    first(ctx.input.sources?.entropy_bits, (v, b) => Math.abs(v - b) >= TRAFFIC.entropy.from),
    first(ctx.input.sources?.never_seen_share, (v, b) => v - b >= TRAFFIC.neverSeen.from),
    mix && mix.anomaly > 0 ? first(m?.expensive_share, (v, b) => v - b >= MIX.expensiveShare.from) : undefined,
    mix && mix.anomaly > 0 ? first(m?.path_entropy_bits, (v, b) => b - v >= MIX.pathEntropyDrop.from) : undefined,
    mix && mix.anomaly > 0 ? first(m?.user_agent_entropy_bits, (v, b) => b - v >= MIX.userAgentEntropyDrop.from) : undefined,
  ].filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.min(...times) : undefined;
}

interface MixReading {
  /** 0..1: how unusual the mix is (the strongest signal in full, the next one half). */
  readonly anomaly: number;
  readonly parts: readonly string[];
}

/** The request mix at `at` (the surge's peak), or at its most unusual minute without one. */
function readMix(ctx: TriageContext, at: number | undefined): MixReading | undefined {
  const m = ctx.input.request_mix;
  if (!m) return undefined;
  const found: { g: number; part: string; cost?: true }[] = [];
  const read = (s: MeasuredSeries | undefined, score: (value: number, baseline: number) => number, part: (value: number, baseline: number) => string, cost = false) => {
    const sr = series(s, ctx);
    if (!sr) return false;
    const r = at !== undefined ? readingAt(sr.rs, at) : peak(sr.rs, (x) => score(x.value, sr.baseline));
    if (!r) return false;
    const g = score(r.value, sr.baseline);
    if (g > 0) found.push({ g, part: part(r.value, sr.baseline), ...(cost ? { cost: true as const } : {}) });
    return true;
  };
  const drop = (k: { from: number; to: number }) => (v: number, b: number) => ramp(b - v, k.from, k.to);
  const bits = (what: string) => (v: number, b: number) => `${what} entropy ${v.toFixed(1)} bits vs ${b.toFixed(1)}`;
  const any = [
    read(m.expensive_share, (v, b) => ramp(v - b, MIX.expensiveShare.from, MIX.expensiveShare.to), (v, b) => `${pct(v)} of requests to expensive paths vs ${pct(b)}`),
    read(m.path_entropy_bits, drop(MIX.pathEntropyDrop), bits('path')),
    read(m.user_agent_entropy_bits, drop(MIX.userAgentEntropyDrop), bits('user-agent')),
    read(m.method_entropy_bits, drop(MIX.methodEntropyDrop), bits('method')),
    read(m.cost_ms_per_request, (v, b) => (b > 0 ? ramp(v / b, MIX.costRatio.from, MIX.costRatio.to) : 0), (v, b) => `${v.toFixed(0)} ms per request vs ${b.toFixed(0)}`, true),
  ].some((x) => x);
  if (!any) return undefined;
  const shape = found.filter((f) => !f.cost).sort((a, b) => b.g - a.g);
  const cost = found.find((f) => f.cost);
  if (shape.length === 0) return { anomaly: 0, parts: [] };
  // Cost per request rises for any slow backend: it only adds to a moved shape signal.
  const rest = [...shape.slice(1), ...(cost ? [cost] : [])].sort((a, b) => b.g - a.g);
  const anomaly = Math.min(1, (shape[0]?.g ?? 0) + 0.5 * (rest[0]?.g ?? 0));
  return { anomaly, parts: [...shape, ...(cost ? [cost] : [])].map((f) => f.part) };
}


/** The one-minute readings of a series from ctx.from_ms on; undefined when there are none (a missing signal). */
function series(s: MeasuredSeries | undefined, ctx: TriageContext, positiveBaseline = false): { rs: Reading[]; baseline: number } | undefined {
  if (!s || !Number.isFinite(s.baseline) || (positiveBaseline && s.baseline <= 0)) return undefined;
  const samples = upTo(s.samples, ctx.now);
  const rs = readings(samples, ctx.from_ms, READING_WINDOW_MS);
  if (rs.length === 0) return undefined;
  return { rs, baseline: s.baseline };
}

function firstAction(ratio: number | undefined, e: Reading | undefined, eBase: number | undefined, n: Reading | undefined, nBase: number | undefined, mix: MixReading | undefined): string {
  const why = [
    ratio !== undefined ? `request rate ${times(ratio)} expected` : undefined,
    mix && mix.anomaly > 0 ? mix.parts.join(', ') : undefined,
    e && eBase !== undefined ? `source entropy ${e.value.toFixed(1)} bits vs ${eBase.toFixed(1)}` : undefined,
    n && nBase !== undefined ? `${pct(n.value)} of requests from never-seen prefixes vs ${pct(nBase)}` : undefined,
  ].filter((p) => p !== undefined);
  const what = mix && mix.anomaly >= 0.3
    ? 'rate-limit what the attack asks for (the expensive path classes, the client family that dominates) and challenge the never-seen and over-represented prefixes'
    : 'rate-limit or challenge the never-seen and over-represented prefixes';
  return `turn on DDoS mitigation: ${what}${why.length > 0 ? ` (${why.join('; ')})` : ''}`;
}
