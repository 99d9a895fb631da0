import type { LabelMatcher, Scope } from '../policy/types.ts';

/**
 * Cohorts are deterministic and nested. Every node gets a rank in [0, 1) from a hash of
 * the rollout id and its node id; a stage takes the lowest-ranked nodes that match its
 * selector. Because the rank order is fixed for the whole rollout, a 10% cohort always
 * contains the 1% one, and the engine also unions each stage with the ones before it.
 */
export interface FleetNode {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * cyrb53: a fast, well-mixed 53-bit string hash. Cryptographic strength is not needed
 * here, only uniformity and speed: a decision over 10,000 nodes must stay within 50 ms.
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A node's place in a rollout's order, in [0, 1). */
export function cohortRank(rolloutId: string, nodeId: string): number {
  return hash53(`${rolloutId}\u0000${nodeId}`) / 2 ** 53;
}

export function matchesSelector(labels: Readonly<Record<string, string>>, selector: readonly LabelMatcher[]): boolean {
  for (const m of selector) {
    const v = labels[m.key];
    if (m.op === '=' ? v !== m.value : v === m.value) return false;
  }
  return true;
}

/** How many of `eligible` nodes a scope covers: a percentage rounds up, and covers at least one node. */
export function scopeSize(scope: Scope, eligible: number): number {
  if (eligible === 0) return 0;
  if (scope.type === 'count') return Math.min(scope.count, eligible);
  return Math.min(eligible, Math.max(1, Math.ceil((scope.percent / 100) * eligible - 1e-9)));
}

/**
 * The nodes one stage's scope selects on its own, lowest rank first.
 *
 * With `stratifyBy` (the labels the stage's gates are split by), a percentage scope is taken
 * within each value of each label as well: every value gets its share, rounded up, and at
 * least 2 nodes when it has them, so that a group of 2% of the fleet is in a 1% canary with
 * enough nodes to be judged (a gate never decides on one node) instead of by the luck of the
 * hash. The extra nodes are bounded: if they would more than double the stage, each value
 * gets only its rounded-up share, and if even that would, the stage is not stratified. Ranks
 * are fixed for the rollout and each value takes its lowest-ranked nodes, so cohorts stay nested.
 */
export function selectScope(rolloutId: string, scope: Scope, fleet: readonly FleetNode[], stratifyBy: readonly string[] = []): string[] {
  const eligible: { id: string; rank: number; labels: Readonly<Record<string, string>> }[] = [];
  for (const n of fleet) {
    if (matchesSelector(n.labels, scope.selector)) eligible.push({ id: n.id, rank: cohortRank(rolloutId, n.id), labels: n.labels });
  }
  eligible.sort((a, b) => a.rank - b.rank || (a.id < b.id ? -1 : 1));
  const size = scopeSize(scope, eligible.length);
  const picked = eligible.slice(0, size).map((e) => e.id);
  if (scope.type !== 'percent' || stratifyBy.length === 0) return picked;
  // Within each value of the first label: its own lowest-ranked share (stratified sampling);
  // further labels only add what their values lack. Nodes without the label form one group.
  const stratified = (minimum: number) => {
    const out: string[] = [];
    const chosen = new Set<string>();
    stratifyBy.forEach((label, li) => {
      const groups = new Map<string, typeof eligible>();
      for (const e of eligible) {
        const v = e.labels[label] ?? '\u0000none';
        const g = groups.get(v);
        if (g) g.push(e); else groups.set(v, [e]);
      }
      for (const [v, g] of groups) {
        const share = Math.ceil((scope.percent / 100) * g.length - 1e-9);
        const want = v === '\u0000none' ? (li === 0 ? share : 0) : Math.max(share, Math.min(minimum, g.length));
        let have = li === 0 ? 0 : g.filter((e) => chosen.has(e.id)).length;
        for (const e of g) {
          if (have >= want) break;
          if (!chosen.has(e.id)) { chosen.add(e.id); out.push(e.id); have++; }
        }
      }
    });
    return out;
  };
  // Bounded: a label with so many values (a rack, a host) that one node each would more than
  // double the stage is not stratified.
  for (const minimum of [2, 1]) {
    const out = stratified(minimum);
    if (out.length <= 2 * size) return out;
  }
  return picked;
}

/** The labels a stage's gates are split by (`by:`), for stratified cohorts. */
export function stratifyLabels(gates: readonly { readonly by?: string }[]): string[] {
  return [...new Set(gates.flatMap((g) => (g.by !== undefined ? [g.by] : [])))];
}

/** The cohort of a stage: the nodes already assigned, plus what this stage's scope selects. */
export function nestedCohort(rolloutId: string, scope: Scope, fleet: readonly FleetNode[], assigned: readonly string[], stratifyBy: readonly string[] = [], exclude: ReadonlySet<string> = new Set()): string[] {
  const set = new Set(assigned);
  const out = [...assigned];
  const eligible = exclude.size > 0 ? fleet.filter((n) => !exclude.has(n.id)) : fleet;
  for (const id of selectScope(rolloutId, scope, eligible, stratifyBy)) {
    if (!set.has(id)) { set.add(id); out.push(id); }
  }
  return out;
}

/**
 * The nodes a holdback keeps on the previous version: the highest-ranked ones, so that no
 * earlier stage (which takes the lowest ranks) reaches them, and the same ones at every stage.
 */
export function holdbackNodes(rolloutId: string, scope: Scope, fleet: readonly FleetNode[]): Set<string> {
  const ranked = fleet.map((n) => ({ id: n.id, rank: cohortRank(rolloutId, n.id) }));
  ranked.sort((a, b) => b.rank - a.rank || (a.id < b.id ? 1 : -1));
  return new Set(ranked.slice(0, scopeSize(scope, ranked.length)).map((e) => e.id));
}
export { stageSizeWarnings, type StageSizeWarning } from './stage-sizes.ts';
