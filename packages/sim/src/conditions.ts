import type { FleetNode } from '@failsmall/core';
import { Rng } from './rng.ts';
import type { LabelCondition, Scenario } from './scenario/types.ts';

/**
 * The world around a change, as real fleets have it and generated ones lack it: a few nodes
 * unhealthy whatever they serve, bursts of errors on many nodes at once, and faults in the
 * control plane's view (metrics that do not arrive, agents out of touch, load reports lost).
 * Drawn once per run from their own random stream, so every regime meets the same world, and a
 * scenario without them draws nothing and runs exactly as before.
 */

/** The node is unhealthy whatever it serves (traffic.bad_nodes). */
export const FLAG_SICK = 1;
/** The node is in an error burst (traffic.bursts). */
export const FLAG_BURST = 2;
/** The node's request metrics do not reach the control plane (metrics_outage, silent_agents). */
export const FLAG_DARK = 4;
/** The agent is out of touch: it learns of no new desired state and reports nothing (silent_agents). */
export const FLAG_SILENT = 8;
/** The node's load reports are lost (lost_load_reports). */
export const FLAG_LOST_REPORTS = 16;

const RNG_CONDITIONS = 4;

/** A flag set on some nodes over [from, until). */
interface Window {
  readonly from: number;
  readonly until: number;
  readonly flag: number;
  /** The node indexes it hits. */
  readonly members: Int32Array;
}

export interface Conditions {
  /** The nodes with FLAG_SICK for the whole run. */
  readonly sick: Int32Array;
  readonly windows: readonly Window[];
}

/** Draws the scenario's bad nodes, bursts and fault windows. Pure: the same scenario and seed give the same draw. */
export function buildConditions(s: Scenario, seed: number, fleet: readonly FleetNode[]): Conditions {
  const tr = s.traffic;
  if (!tr.bad_nodes && !tr.bursts && s.faults.length === 0) return { sick: new Int32Array(0), windows: [] };
  const rng = new Rng(seed, RNG_CONDITIONS);
  const n = fleet.length;
  // Exactly round(share × n) bad nodes, a partial Fisher–Yates shuffle of the indexes.
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const sickCount = tr.bad_nodes ? Math.round(tr.bad_nodes.share * n) : 0;
  for (let i = 0; i < sickCount; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const t = order[i] ?? 0; order[i] = order[j] ?? 0; order[j] = t;
  }
  const sick = order.slice(0, sickCount).sort();
  const windows: Window[] = [];
  const b = tr.bursts;
  if (b) {
    // Poisson arrivals with a mean gap of `every`: bursts are not on a timetable.
    for (let t = -Math.log(1 - rng.next()) * b.every_ms; t < s.duration_ms; t += b.length_ms - Math.log(1 - rng.next()) * b.every_ms) {
      windows.push({ from: t, until: t + b.length_ms, flag: FLAG_BURST, members: draw(fleet, b.where, b.share, rng) });
    }
  }
  for (const f of s.faults) {
    const members = draw(fleet, f.where, f.share, rng);
    const flag = f.type === 'metrics_outage' ? FLAG_DARK : f.type === 'silent_agents' ? FLAG_SILENT | FLAG_DARK : FLAG_LOST_REPORTS;
    windows.push({ from: f.from_ms, until: f.until_ms, flag, members });
  }
  return { sick, windows };
}

/** The nodes `where` selects, each kept with probability `share`. */
function draw(fleet: readonly FleetNode[], where: readonly LabelCondition[], share: number, rng: Rng): Int32Array {
  const out: number[] = [];
  fleet.forEach((node, i) => {
    if (!where.every((w) => w.values.includes(node.labels[w.key] ?? '') !== w.negated)) return;
    if (share >= 1 || rng.next() < share) out.push(i);
  });
  return Int32Array.from(out);
}

/**
 * Each node's flags as virtual time moves on. `advance(t)` recomputes them only when a window
 * opened or closed since the last call, and says whether they changed.
 */
export class ConditionFlags {
  readonly flags: Uint8Array;
  readonly #c: Conditions;
  #active = '';

  constructor(c: Conditions, nodes: number) {
    this.#c = c;
    this.flags = new Uint8Array(nodes);
    for (const i of c.sick) this.flags[i] = FLAG_SICK;
  }

  /** Whether any window exists at all (no: the flags never change). */
  get static(): boolean {
    return this.#c.windows.length === 0;
  }

  advance(t: number): boolean {
    if (this.static) return false;
    const open: Window[] = [];
    let key = '';
    this.#c.windows.forEach((w, k) => { if (w.from <= t && t < w.until) { open.push(w); key += `${k},`; } });
    if (key === this.#active) return false;
    this.#active = key;
    this.flags.fill(0);
    for (const i of this.#c.sick) this.flags[i] = FLAG_SICK;
    for (const w of open) for (const i of w.members) this.flags[i] = (this.flags[i] ?? 0) | w.flag;
    return true;
  }

  has(i: number, flag: number): boolean {
    return ((this.flags[i] ?? 0) & flag) !== 0;
  }
}
