import { blendMix, type MixPart } from './request-mix.ts';
import { intensity } from './strength.ts';
import type { RequestMix, TriageEvent, TriageScenario } from './types.ts';

/** What reaches the fleet at a time, before retries and noise. */
export interface TrafficAt {
  readonly rps: number;
  readonly entropy_bits: number;
  readonly never_seen: number;
  readonly mix: RequestMix;
}

/**
 * The traffic at `t` (ms from the scenario start): the usual clients, scheduled surges, flash
 * crowds, clients bypassing a failed CDN, attacks, less what drops take away. `strength` says
 * how strong an event is (for a rollout, the share of nodes serving its bad version).
 */
export function trafficAt(s: TriageScenario, t: number, strength: (e: TriageEvent) => number): TrafficAt {
  const b = s.baseline;
  let crowd = 0;
  let crowdFresh = 0;
  let shift = 0;
  // Attack requests from prefixes real clients also use: seen, and within the usual entropy.
  let blended = 0;
  // Requests that reach us, as a share of those sent.
  let keep = 1;
  const attacks: { rps: number; bits: number; fresh: number }[] = [];
  // Everything from the usual population asks for the usual mix, crowds and attacks for theirs.
  let usualAsk = b.rps;
  const asks: MixPart[] = [];
  for (const e of s.events) {
    const drop = e.type === 'traffic_drop' ? e.share : e.drop;
    if (drop > 0) keep *= 1 - drop * strength(e);
    const i = intensity(e, t);
    if (i === 0) continue;
    if (e.type === 'flash_crowd') {
      const extra = b.rps * (e.rate - 1) * i;
      crowd += extra;
      crowdFresh += extra * e.never_seen;
      shift += e.entropy_shift_bits * i;
      asks.push({ rps: extra, mix: e.mix });
    } else if (e.type === 'ddos') {
      const rps = b.rps * (e.rate - 1) * i;
      blended += rps * e.overlap;
      attacks.push({ rps: rps * (1 - e.overlap), bits: e.source_entropy_bits, fresh: e.never_seen });
      asks.push({ rps, mix: e.mix });
    }
    if (e.bypass) {
      // Clients that reached us through the failed dependency now come from their own prefixes.
      const extra = b.rps * (e.bypass.rate - 1) * i;
      crowd += extra;
      crowdFresh += extra * e.bypass.never_seen;
      shift += e.bypass.entropy_shift_bits * i;
      usualAsk += extra;
    }
  }
  for (const x of s.schedule) {
    const extra = b.rps * (x.rate - 1) * intensity(x, t);
    crowd += extra;
    crowdFresh += extra * b.never_seen_share;
    usualAsk += extra;
  }
  const usual = b.rps + crowd + blended;
  const total = usual + attacks.reduce((a, x) => a + x.rps, 0);
  // The attack's own prefixes are disjoint from the usual clients': the mix's entropy is the
  // entropy of the choice between the parts plus each part's own, weighted by its share.
  const parts = [{ p: usual / total, bits: b.entropy_bits + shift }, ...attacks.map((a) => ({ p: a.rps / total, bits: a.bits }))];
  const entropy_bits = parts.reduce((h, x) => h + (x.p > 0 ? -x.p * Math.log2(x.p) + x.p * x.bits : 0), 0);
  const never_seen = (b.rps * b.never_seen_share + crowdFresh + attacks.reduce((a, x) => a + x.rps * x.fresh, 0)) / total;
  return { rps: total * keep, entropy_bits, never_seen, mix: blendMix([{ rps: usualAsk, mix: b.mix }, ...asks]) };
}

/** The request rate expected at `t`: the baseline, and the scheduled surges (the same hour last week saw them too). */
export function expectedRate(s: TriageScenario, t: number): number {
  return s.schedule.reduce((rate, x) => rate + s.baseline.rps * (x.rate - 1) * intensity(x, t), s.baseline.rps);
}
