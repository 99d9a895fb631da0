import type { Verdict } from '@failsmall/core';
import type { EventRecord } from '@failsmall/core';

/** A cohort node that refused the new version, and what it serves instead. */
export interface Refusal {
  readonly node: string;
  readonly error: string;
  readonly serving: string | null;
}

/**
 * What a watch remembers from a rollout's events that its current state does not hold: each
 * gate's recent verdicts (for the trend), the nodes that refused the version, the fleet size.
 * Plain data, folded one event at a time, so the frame stays a pure function of it.
 */
export interface History {
  readonly fleet_nodes: number | null;
  /** By `stage/gate`, oldest first, at most TREND_LENGTH. */
  readonly verdicts: Readonly<Record<string, readonly Verdict[]>>;
  /** One per node, in the order they refused. */
  readonly refusals: readonly Refusal[];
}

export const TREND_LENGTH = 5;

export const EMPTY_HISTORY: History = { fleet_nodes: null, verdicts: {}, refusals: [] };

/** The key a verdict's history is kept under: the same gate on another stage judges another cohort. */
export function gateKey(v: Pick<Verdict, 'stage' | 'gate'>): string {
  return `${v.stage}/${v.gate}`;
}

export function record(h: History, e: EventRecord): History {
  const p = e.payload;
  switch (e.type) {
    case 'rollout.started':
    case 'rollout.stage_started':
      return typeof p.fleet_nodes === 'number' ? { ...h, fleet_nodes: p.fleet_nodes } : h;
    case 'gates.evaluated': {
      const verdicts = { ...h.verdicts };
      for (const v of (p.verdicts as Verdict[] | undefined) ?? []) verdicts[gateKey(v)] = [...(verdicts[gateKey(v)] ?? []), v].slice(-TREND_LENGTH);
      return { ...h, verdicts };
    }
    case 'rollout.baking': {
      const failures = (p.failures as Refusal[] | undefined) ?? [];
      const known = new Set(h.refusals.map((r) => r.node));
      const added = failures.filter((f) => !known.has(f.node)).map((f) => ({ node: f.node, error: f.error, serving: f.serving ?? null }));
      return added.length > 0 ? { ...h, refusals: [...h.refusals, ...added] } : h;
    }
    default:
      return h;
  }
}
