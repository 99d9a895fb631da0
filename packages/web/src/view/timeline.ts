import { narrate } from '@failsmall/core/browser';
import type { EventRecord } from '../api/types.ts';

/** A cohort node that refused the new version, why, and what it serves instead. */
export interface Refusal {
  readonly node: string;
  readonly error: string;
  readonly serving: string | null;
}

/** One line of the timeline: when, what kind, and the sentence `rollout watch` prints for it. */
export interface TimelineEntry {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly text: string;
}

/**
 * The rollout's timeline from its `rollout.*` events: the same sentences as the CLI (core
 * narrate), one entry per event, oldest first. Gate evaluations are charted, not listed.
 */
export function timeline(events: readonly EventRecord[]): TimelineEntry[] {
  return events.filter((e) => e.type !== 'gates.evaluated')
    .map((e) => ({ seq: e.seq, at: e.at, type: e.type, text: narrate(e).map((l) => l.trim()).join(' · ') || e.type }));
}

/** The nodes that refused the version, once each, in the order they refused (from `rollout.baking`). */
export function refusals(events: readonly EventRecord[]): Refusal[] {
  const seen = new Map<string, Refusal>();
  for (const e of events) {
    if (e.type !== 'rollout.baking' || !Array.isArray(e.payload.failures)) continue;
    for (const f of e.payload.failures as { node?: unknown; error?: unknown; serving?: unknown }[]) {
      if (typeof f.node !== 'string' || seen.has(f.node)) continue;
      seen.set(f.node, { node: f.node, error: typeof f.error === 'string' ? f.error : 'refused', serving: typeof f.serving === 'string' ? f.serving : null });
    }
  }
  return [...seen.values()];
}

/** The fleet's size when the rollout started or its stage began, for the cohort's share of it. */
export function fleetSize(events: readonly EventRecord[]): number | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const n = events[i]?.payload.fleet_nodes;
    if (typeof n === 'number') return n;
  }
  return null;
}
