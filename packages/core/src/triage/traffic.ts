import { weighed, type ClassEvidence, type TriageContext } from './context.ts';
import { clock, pct, perSecond, times } from './format.ts';
import type { Evidence, MissingSignal } from './hypothesis.ts';
import type { MeasuredSeries } from './input.ts';
import { peak, ramp, readingAt, readings, upTo, type Reading } from './series.ts';
import { READING_WINDOW_MS, TRAFFIC } from './weights.ts';

/**
 * The DDoS hypothesis from the traffic itself: a surge in the request rate, and whether its
 * sources look like every day's. The surge is read at its one-minute peak, and the two
 * diversity signals at that same minute, so that "a surge with normal sources" is judged
 * on one moment of traffic.
 */
export function trafficEvidence(ctx: TriageContext): ClassEvidence {
  const missing: MissingSignal[] = [];
  const rate = series(ctx.input.requests, ctx, true);
  const entropy = series(ctx.input.sources?.entropy_bits, ctx);
  const fresh = series(ctx.input.sources?.never_seen_share, ctx);
  if (!rate) missing.push({ signal: 'request_rate', sentence: 'no request-rate series: cannot tell whether traffic surged' });
  if (!entropy) missing.push({ signal: 'source_entropy', sentence: 'no source-entropy series: cannot tell an attack from a flash crowd by the spread of client prefixes' });
  if (!fresh) missing.push({ signal: 'never_seen_sources', sentence: 'no never-seen-source share: cannot tell new attackers from returning clients' });

  const top = rate ? peak(rate.rs, (r) => r.value) : undefined;
  const ratio = rate && top ? top.value / rate.baseline : undefined;
  const at = top?.at_ms;
  const surge = ratio !== undefined ? ramp(ratio, TRAFFIC.surge.from, TRAFFIC.surge.to) : undefined;
  // Odd sources without a surge count a quarter; with no rate at all, the diversity signals are
  // read at their most anomalous minute and count half.
  const scale = surge === undefined ? 0.5 : Math.max(surge, 0.25);

  const items: (Evidence | undefined)[] = [];
  if (rate && top && ratio !== undefined && surge !== undefined) {
    if (ratio >= TRAFFIC.surge.from) {
      items.push({ signal: 'request_rate', weight: TRAFFIC.surge.ddos * surge, value: ratio, baseline: 1, unit: '× baseline',
        sentence: `request rate peaked at ${times(ratio)} its baseline (${perSecond(top.value)} vs ${perSecond(rate.baseline)}) at ${clock(top.at_ms)}` });
    } else {
      items.push({ signal: 'request_rate', weight: TRAFFIC.noSurge.ddos * (1 - ramp(ratio, TRAFFIC.noSurge.below, TRAFFIC.surge.from)), value: ratio, threshold: TRAFFIC.surge.from, unit: '× baseline',
        sentence: `no traffic surge: the request rate peaked at ${times(ratio)} its baseline; a volumetric attack raises it` });
    }
  }

  const e = entropy ? (at !== undefined ? readingAt(entropy.rs, at) : peak(entropy.rs, (r) => Math.abs(r.value - entropy.baseline))) : undefined;
  const shift = entropy && e ? e.value - entropy.baseline : undefined;
  const dEntropy = shift !== undefined ? ramp(Math.abs(shift), TRAFFIC.entropy.from, TRAFFIC.entropy.to) : undefined;
  if (entropy && e && shift !== undefined && dEntropy !== undefined && dEntropy > 0) {
    items.push({ signal: 'source_entropy', weight: TRAFFIC.entropy.ddos * dEntropy * scale, value: e.value, baseline: entropy.baseline, unit: 'bits',
      sentence: `source entropy ${shift < 0 ? 'collapsed' : 'jumped'} to ${e.value.toFixed(1)} bits (baseline ${entropy.baseline.toFixed(1)}) at ${clock(e.at_ms)}: ${shift < 0 ? 'a few prefixes send most requests' : 'requests come from unusually many prefixes, as spoofed sources do'}` });
  }

  const n = fresh ? (at !== undefined ? readingAt(fresh.rs, at) : peak(fresh.rs, (r) => r.value)) : undefined;
  const excess = fresh && n ? n.value - fresh.baseline : undefined;
  const dFresh = excess !== undefined ? ramp(excess, TRAFFIC.neverSeen.from, TRAFFIC.neverSeen.to) : undefined;
  if (fresh && n && dFresh !== undefined && dFresh > 0) {
    items.push({ signal: 'never_seen_sources', weight: TRAFFIC.neverSeen.ddos * dFresh * scale, value: n.value, baseline: fresh.baseline, unit: 'share',
      sentence: `${pct(n.value)} of requests from prefixes never seen before (baseline ${pct(fresh.baseline)}) at ${clock(n.at_ms)}` });
  }

  if (dEntropy !== undefined || dFresh !== undefined) {
    const diversity = Math.max(dEntropy ?? 0, dFresh ?? 0);
    const signal = dEntropy !== undefined ? 'source_entropy' : 'never_seen_sources';
    const parts = [
      e && entropy ? `entropy ${e.value.toFixed(1)} bits vs ${entropy.baseline.toFixed(1)}` : undefined,
      n && fresh ? `never-seen ${pct(n.value)} vs ${pct(fresh.baseline)}` : undefined,
    ].filter((p) => p !== undefined).join(', ');
    const crowd = surge !== undefined ? surge * (1 - diversity) : 0;
    if (crowd > 0.1 && ratio !== undefined) {
      items.push({ signal, weight: TRAFFIC.flashCrowd.ddos * crowd, value: ratio, threshold: TRAFFIC.surge.from, unit: '× baseline',
        sentence: `a ${times(ratio)} surge with normal source diversity (${parts}): a flash crowd, not an attack` });
    } else if (diversity === 0) {
      items.push({ signal, weight: TRAFFIC.usualSources.ddos, value: e?.value ?? n?.value ?? null, unit: dEntropy !== undefined ? 'bits' : 'share',
        sentence: `requests come from the usual sources (${parts})` });
    }
  }

  const kept = weighed(items);
  return { items: kept, missing, first_action: firstAction(ratio, e, entropy?.baseline, n, fresh?.baseline) };
}

/** The one-minute readings of a series from ctx.from_ms on; undefined when there are none (a missing signal). */
function series(s: MeasuredSeries | undefined, ctx: TriageContext, positiveBaseline = false): { rs: Reading[]; baseline: number } | undefined {
  if (!s || !Number.isFinite(s.baseline) || (positiveBaseline && s.baseline <= 0)) return undefined;
  const samples = upTo(s.samples, ctx.now);
  const rs = readings(samples, ctx.from_ms, READING_WINDOW_MS);
  if (rs.length === 0) return undefined;
  return { rs, baseline: s.baseline };
}

function firstAction(ratio: number | undefined, e: Reading | undefined, eBase: number | undefined, n: Reading | undefined, nBase: number | undefined): string {
  const why = [
    ratio !== undefined ? `request rate ${times(ratio)} baseline` : undefined,
    e && eBase !== undefined ? `source entropy ${e.value.toFixed(1)} bits vs ${eBase.toFixed(1)}` : undefined,
    n && nBase !== undefined ? `${pct(n.value)} of requests from never-seen prefixes vs ${pct(nBase)}` : undefined,
  ].filter((p) => p !== undefined);
  return `turn on DDoS mitigation: rate-limit or challenge the never-seen and over-represented prefixes${why.length > 0 ? ` (${why.join('; ')})` : ''}`;
}
