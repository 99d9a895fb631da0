import type { Changes, ExternalChange, RolloutChange } from '@failsmall/core';
import type { Rng } from '../rng.ts';
import { ended } from './strength.ts';
import type { ExternalChangeEvent, RolloutEvent, Stage, TriageScenario } from './types.ts';

/** One push of a rollout or change: the first is the event itself, the rest its regenerations. */
export interface Push {
  readonly at_ms: number;
  readonly id: string;
  readonly version: string;
  readonly from: string | null;
  readonly bad: boolean;
}

export interface Chain {
  readonly event: RolloutEvent | ExternalChangeEvent;
  readonly pushes: readonly Push[];
}

/** One side of a push's cohort: the nodes that have it, or the others. */
export interface CohortSide {
  readonly push: Push;
  readonly chain: Chain;
  readonly has: boolean;
}

/** A change that is not staged reaches everyone. */
const EVERYONE: readonly Stage[] = [{ after_ms: 0, share: 1 }];

/**
 * The scenario's rollouts and external changes as chains of pushes, and where each stands at
 * a time: which push most nodes are moving to, the share that has it, the share serving a
 * bad version, and what the control plane recorded of them.
 */
export class Chains {
  readonly all: readonly Chain[];
  readonly #s: TriageScenario;

  constructor(s: TriageScenario, regen: Rng) {
    this.#s = s;
    this.all = s.events.flatMap((e) => (e.type === 'rollout' || e.type === 'external_change' ? [{ event: e, pushes: pushesOf(e, s.duration_ms, regen) }] : []));
  }

  of(e: unknown): Chain | undefined {
    return this.all.find((c) => c.event === e);
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

  /** Share of nodes serving a bad version of the chain at `t`; on one side of a cohort when `side` is given. */
  badShare(chain: Chain, t: number, side: CohortSide | null): number {
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

  /** What the control plane and the change feed recorded: skewed start times, late records, how rollouts ended. */
  records(): Changes {
    const s = this.#s;
    const rollouts: RolloutChange[] = [];
    const external: ExternalChange[] = [];
    for (const c of this.all) {
      const e = c.event;
      const last = endingPush(c, s.duration_ms);
      for (const p of c.pushes) {
        const started = s.start_ms + p.at_ms + e.clock_skew_ms;
        const recorded = e.recorded_after_ms !== null ? { recorded_at_ms: s.start_ms + p.at_ms + e.recorded_after_ms } : {};
        const touches = e.touches !== null ? { touches: e.touches } : {};
        if (e.type === 'rollout') {
          const end = e.ended !== null && p === last ? { state: e.ended.state, ended_at_ms: s.start_ms + e.ended.at_ms } : {};
          rollouts.push({
            id: p.id, artifact: e.artifact, module: e.module, kind: e.kind, version: p.version, ...(p.from !== null ? { from_version: p.from } : {}), started_at_ms: started,
            ...touches, ...end, ...recorded,
          });
        } else {
          // A staged change reports the share it reached by the end of the scenario.
          const share = e.stages !== null ? { share: stageShare(e.stages, s.duration_ms - p.at_ms, s.propagation_ms) } : {};
          external.push({
            id: p.id, summary: e.summary, timestamp: new Date(started).toISOString(), ...(e.source !== null ? { source: e.source } : {}),
            services: e.services, ...touches, ...share, ...recorded, links: e.links, custom_details: e.custom_details,
          });
        }
      }
    }
    return { rollouts, external };
  }

  /** The push most nodes are moving to at `t`, and the share that has it. */
  #current(chain: Chain, t: number): { index: number; share: number } | undefined {
    if (ended(chain.event, t)) return undefined;
    let index = -1;
    chain.pushes.forEach((p, i) => { if (p.at_ms <= t) index = i; });
    const push = chain.pushes[index];
    if (!push) return undefined;
    return { index, share: reached(chain.event, push, t, this.#s.propagation_ms) };
  }
}

/** Share of nodes that have `push` at `t`: its stages, frozen by a pause, taken to every node by a completion. */
function reached(e: RolloutEvent | ExternalChangeEvent, push: Push, t: number, propagation: number): number {
  const stages = e.type === 'rollout' ? e.stages : e.stages ?? EVERYONE;
  const end = e.type === 'rollout' && e.ended !== null && t >= e.ended.at_ms ? e.ended : null;
  if (end === null || (end.state !== 'paused' && end.state !== 'completed')) return stageShare(stages, t - push.at_ms, propagation);
  const then = stageShare(stages, end.at_ms - push.at_ms, propagation);
  return end.state === 'paused' ? then : then + (1 - then) * Math.min(1, propagation > 0 ? (t - end.at_ms) / propagation : 1);
}

/** The push a rollout's end applies to: the last one pushed before it ended (none when it ends after the scenario). */
function endingPush(c: Chain, duration: number): Push | undefined {
  const e = c.event;
  if (e.type !== 'rollout' || e.ended === null || e.ended.at_ms >= duration) return undefined;
  const at = e.ended.at_ms;
  return c.pushes.filter((p) => p.at_ms <= at).at(-1);
}

function pushesOf(e: RolloutEvent | ExternalChangeEvent, duration: number, rng: Rng): Push[] {
  // A change is bad when it errs, strains a dependency, or keeps requests from reaching us.
  const bad = e.errors !== null || e.strains.length > 0 || e.drop > 0;
  const version = e.type === 'rollout' ? e.version : e.id;
  const from = e.type === 'rollout' ? e.from : null;
  const out: Push[] = [{ at_ms: e.at_ms, id: e.id, version, from, bad }];
  const r = e.regenerate;
  if (!r) return out;
  // A paused rollout pushes nothing more; a rolled-back one has until_ms set.
  const stop = e.type === 'rollout' && e.ended?.state === 'paused' ? e.ended.at_ms : e.until_ms;
  for (let t = e.at_ms + r.every_ms, n = 2; t < duration && (stop === null || t < stop); t += r.every_ms, n++) {
    const b = r.bad_share;
    const p = b.from + (b.to - b.from) * Math.min(1, (t - e.at_ms) / b.over_ms);
    const prev = out[out.length - 1];
    out.push({ at_ms: t, id: `${e.id}.${n}`, version: `${version}.${n}`, from: prev?.version ?? from, bad: bad && rng.next() < p });
  }
  return out;
}

/** Share of nodes at `dt` after a push: each stage's share is reached within `propagation`. */
function stageShare(stages: readonly Stage[], dt: number, propagation: number): number {
  let prev = 0;
  let share = 0;
  for (const st of stages) {
    if (dt < st.after_ms) break;
    share = prev + (st.share - prev) * Math.min(1, propagation > 0 ? (dt - st.after_ms) / propagation : 1);
    prev = st.share;
  }
  return share;
}
