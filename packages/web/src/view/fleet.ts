import type { FleetGroup, FleetSummary } from '../api/types.ts';
import { shareOf } from './measures.ts';

/** A module's states, in the order the page lists them, with what each means in words. */
export const MODULE_STATES: readonly { readonly state: string; readonly words: string }[] = [
  { state: 'serving', words: 'serving' },
  { state: 'stale', words: 'stale (refused a version, serves its last known-good)' },
  { state: 'fail-open', words: 'fail-open (serves nothing, lets traffic through)' },
  { state: 'fail-closed', words: 'fail-closed (serves nothing, blocks)' },
  { state: 'empty', words: 'empty (never loaded a version)' },
  { state: 'unreported', words: 'unreported (no load report yet)' },
];

/** How many colours the version bars have (styles.css .ver-0 … .ver-5); a seventh version reuses the first with its words. */
export const VERSION_COLOURS = 6;

/** One version's part of a group: its nodes and share, and the colour it has everywhere on the page. */
export interface VersionPart {
  readonly version: string;
  readonly nodes: number;
  readonly share: string;
  /** Index into the version colours: the same version has the same colour in every group. */
  readonly colour: number;
}

/**
 * The versions the fleet serves, most nodes first, `none` last: the order of the bars and the
 * legend, and so each version's colour.
 *
 * Examples
 *   versionOrder(summary) // ['v1', 'v2', 'none']
 */
export function versionOrder(s: Pick<FleetSummary, 'groups'>): string[] {
  const total = new Map<string, number>();
  for (const g of s.groups) for (const [v, n] of Object.entries(g.serving)) total.set(v, (total.get(v) ?? 0) + n);
  return [...total.entries()]
    .sort(([a, x], [b, y]) => Number(a === 'none') - Number(b === 'none') || y - x || a.localeCompare(b))
    .map(([v]) => v);
}

/** A group's versions in the page's order, each with its count, share and colour; versions it lacks are left out. */
export function versionParts(g: Pick<FleetGroup, 'serving' | 'nodes'>, order: readonly string[]): VersionPart[] {
  return order.flatMap((version, i) => {
    const nodes = g.serving[version] ?? 0;
    return nodes > 0 ? [{ version, nodes, share: shareOf(nodes, g.nodes), colour: i % VERSION_COLOURS }] : [];
  });
}

/** `4 serving, 1 stale (…)`: a group's module states in words, the ones it has, in MODULE_STATES order. */
export function stateWords(states: Readonly<Record<string, number>>): string[] {
  const known = MODULE_STATES.map((m) => m.state);
  const extra = Object.keys(states).filter((s) => !known.includes(s)).sort();
  return [...MODULE_STATES, ...extra.map((state) => ({ state, words: state }))]
    .filter((m) => (states[m.state] ?? 0) > 0)
    .map((m) => `${states[m.state]} ${m.words}`);
}

/** What needs a look in a group, in words: off target, pinned, pending, not seen; empty when all is well. */
export function attention(g: Pick<FleetGroup, 'nodes' | 'live' | 'off_target' | 'pinned' | 'pending'>): string[] {
  const unseen = g.nodes - g.live;
  return [
    g.off_target > 0 ? `${g.off_target} off target` : '',
    g.pinned > 0 ? `${g.pinned} pinned by break-glass` : '',
    g.pending > 0 ? `${g.pending} pending approval` : '',
    unseen > 0 ? `${unseen} not seen in 60 s` : '',
  ].filter((x) => x !== '');
}

/** The whole fleet as one group: the total line above the groups. */
export function wholeFleet(s: Pick<FleetSummary, 'groups'>): FleetGroup {
  const add = (into: Record<string, number>, from: Readonly<Record<string, number>>) => { for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n; };
  const serving: Record<string, number> = {};
  const states: Record<string, number> = {};
  let nodes = 0, live = 0, pending = 0, pinned = 0, off_target = 0;
  for (const g of s.groups) {
    nodes += g.nodes; live += g.live; pending += g.pending; pinned += g.pinned; off_target += g.off_target;
    add(serving, g.serving);
    add(states, g.states);
  }
  return { value: 'all', nodes, live, pending, pinned, serving, states, off_target, refused: s.groups.flatMap((g) => g.refused) };
}

/** The grouping select's choices: none, then each label key with how many values it has. */
export function groupChoices(labelKeys: Readonly<Record<string, number>>): { readonly value: string; readonly label: string }[] {
  return [{ value: '', label: 'no grouping (the whole fleet)' }, ...Object.entries(labelKeys).map(([k, n]) => ({ value: k, label: `${k} (${n} ${n === 1 ? 'value' : 'values'})` }))];
}
