/**
 * The fleet at a glance, for a page or a command that must work at 10,000 nodes: nodes grouped by
 * one label's value, each group counted by the version it serves, the state of its module, how
 * many are off their target, pinned by break-glass, pending approval or not heard from, with the
 * newest refusals named. Aggregates, never one row per node.
 */

/** What the summary needs of a node. */
export interface SummaryNode {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly last_seen_at: number;
  readonly enrolment?: 'approved' | 'pending';
  readonly pins: readonly { readonly artifact: string }[];
}

/** A node's report of one load of an artifact (the store's LoadReport, without the artifact's name). */
export interface SummaryLoad {
  readonly node_id: string;
  /** The version the agent tried to load. */
  readonly version: string | null;
  readonly ok: boolean;
  /** The version the module is actually serving after the attempt. */
  readonly serving: string | null;
  readonly error: string | null;
  readonly at: number;
  /** What the module serves after the attempt: serving, stale (last known-good), fail-open, fail-closed, empty. */
  readonly module_state?: string | null;
}

export interface FleetRefusal {
  readonly node: string;
  readonly version: string | null;
  readonly error: string;
  readonly at: number;
}

export interface FleetGroup {
  /** The label's value; `(none)` for nodes without the label, `all` when not grouped. */
  readonly value: string;
  readonly nodes: number;
  /** Heard from within `liveWindowMs`. */
  readonly live: number;
  readonly pending: number;
  /** Pinned by break-glass on this artifact (on any artifact, without one). */
  readonly pinned: number;
  /** Version → nodes serving it; `none` for nodes that serve nothing or never reported. */
  readonly serving: Readonly<Record<string, number>>;
  /** Module state → nodes: serving, stale (refused a version, kept the last known-good), fail-open, fail-closed, empty, unreported. */
  readonly states: Readonly<Record<string, number>>;
  /** Nodes whose serving version is not the one the control plane wants there now. */
  readonly off_target: number;
  /** The newest refusals in the group (at most REFUSALS_SHOWN): a failed load whose version is still the target or was the last tried. */
  readonly refused: readonly FleetRefusal[];
}

export interface FleetSummary {
  readonly artifact: string | null;
  readonly by: string | null;
  readonly nodes: number;
  readonly groups: readonly FleetGroup[];
  /** Every label key in the fleet, with how many distinct values it has: what a page can group by. */
  readonly label_keys: Readonly<Record<string, number>>;
}

export const REFUSALS_SHOWN = 10;
/** Groups beyond this many (by node count) are folded into one `(other)` group: a label with 10,000 values is not a grouping. */
export const GROUPS_SHOWN = 50;

/**
 * A node that refused a version keeps serving its last known-good and reports "stale". After a
 * rollback that version is the target again: the node is simply serving it, and its refusal
 * stays visible as its last load. (A new user once saw `v8 (stale)` with v8 the target.)
 */
export function currentModuleState(load: { serving: string | null; module_state?: string | null }, desiredVersion: string | null | undefined): string | null {
  const state = load.module_state ?? null;
  return state === 'stale' && load.serving !== null && load.serving === desiredVersion ? 'serving' : state;
}

/**
 * Examples
 * ```ts
 * summarizeFleet({ nodes, loads, desired: (id) => 'v2', artifact: 'features', by: 'region', now: Date.now() });
 * // → { groups: [{ value: 'eu', nodes: 120, serving: { v2: 118, v1: 2 }, off_target: 2, … }, …] }
 * ```
 */
export function summarizeFleet(input: {
  readonly nodes: readonly SummaryNode[];
  /** The latest load report of `artifact` per node (ignored without an artifact). */
  readonly loads: readonly SummaryLoad[];
  /** The version the control plane wants on a node now (undefined: the node does not run the artifact). */
  readonly desired: (nodeId: string) => string | null | undefined;
  readonly artifact: string | null;
  readonly by: string | null;
  readonly now: number;
  readonly liveWindowMs?: number;
}): FleetSummary {
  const window = input.liveWindowMs ?? 60_000;
  const latest = new Map<string, SummaryLoad>();
  for (const l of input.loads) {
    const seen = latest.get(l.node_id);
    if (!seen || l.at > seen.at) latest.set(l.node_id, l);
  }
  const keys = new Map<string, Set<string>>();
  const groups = new Map<string, Mutable>();
  for (const n of input.nodes) {
    for (const [k, v] of Object.entries(n.labels)) {
      const values = keys.get(k) ?? new Set<string>();
      values.add(v);
      keys.set(k, values);
    }
    const value = input.by === null ? 'all' : n.labels[input.by] ?? '(none)';
    const g = groups.get(value) ?? empty(value);
    groups.set(value, g);
    g.nodes++;
    if (input.now - n.last_seen_at <= window) g.live++;
    if (n.enrolment === 'pending') g.pending++;
    if (n.pins.some((p) => input.artifact === null || p.artifact === input.artifact)) g.pinned++;
    if (input.artifact === null) continue;
    const load = latest.get(n.id);
    const target = input.desired(n.id);
    const serving = load?.serving ?? null;
    bump(g.serving, serving ?? 'none');
    bump(g.states, load ? currentModuleState(load, target) ?? (serving === null ? 'empty' : 'serving') : 'unreported');
    if (target !== undefined && serving !== target) g.off_target++;
    if (load && !load.ok) g.refused.push({ node: n.id, version: load.version, error: load.error ?? 'refused', at: load.at });
  }
  const ordered = [...groups.values()].sort((a, b) => b.nodes - a.nodes || a.value.localeCompare(b.value));
  const shown = ordered.length > GROUPS_SHOWN ? [...ordered.slice(0, GROUPS_SHOWN - 1), ordered.slice(GROUPS_SHOWN - 1).reduce(fold, empty('(other)'))] : ordered;
  return {
    artifact: input.artifact,
    by: input.by,
    nodes: input.nodes.length,
    groups: shown.map((g) => ({ ...g, refused: g.refused.sort((a, b) => b.at - a.at || a.node.localeCompare(b.node)).slice(0, REFUSALS_SHOWN) })),
    label_keys: Object.fromEntries([...keys].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.size])),
  };
}

type Mutable = { value: string; nodes: number; live: number; pending: number; pinned: number; serving: Record<string, number>; states: Record<string, number>; off_target: number; refused: FleetRefusal[] };

function empty(value: string): Mutable {
  return { value, nodes: 0, live: 0, pending: 0, pinned: 0, serving: {}, states: {}, off_target: 0, refused: [] };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function fold(into: Mutable, g: Mutable): Mutable {
  into.nodes += g.nodes;
  into.live += g.live;
  into.pending += g.pending;
  into.pinned += g.pinned;
  into.off_target += g.off_target;
  for (const [k, v] of Object.entries(g.serving)) into.serving[k] = (into.serving[k] ?? 0) + v;
  for (const [k, v] of Object.entries(g.states)) into.states[k] = (into.states[k] ?? 0) + v;
  into.refused.push(...g.refused);
  return into;
}
