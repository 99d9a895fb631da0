import type { ModuleDecl } from '../policy/types.ts';
import { reviewFailClosed } from './fail-closed.ts';
import { closedWalk, isCyclic, stronglyConnected } from './scc.ts';
import type {
  AuditReport, BreakglassTool, BreakglassViolation, CycleDetail, DependencyEdge, DependencyGraph, GraphService, MissingFallback, SharedFate,
} from './types.ts';

/**
 * Audits an estate for the dependencies that turn one failure into an outage nobody can
 * recover from. Pure: the same graph gives the same report, in declaration order.
 *
 * - `cycles`: every dependency cycle (a strongly connected component), as a closed path.
 * - `breakglass_violations`: a break-glass tool whose transitive hard dependencies reach
 *   something it recovers (hard edges first; a soft edge without a fallback counts as hard).
 * - `shared_fate`: a break-glass tool that shares a fate label (same key and value) with
 *   something it recovers, itself or through any of its transitive hard dependencies
 *   (not walking through what it recovers: that is a break-glass violation already).
 * - `fail_closed_review`: every fail-closed module; flagged when its reason names no security goal.
 * - `missing_fallbacks`: every soft edge without a fallback.
 *
 * Examples
 *   const r = auditDependencies(estate.graph, estate.modules);
 *   r.cycles                  // [['proxy', 'config-pipeline', 'dashboard-login', 'bot-check', 'proxy']]
 *   r.clean ? 0 : 1           // the CI gate's exit code
 */
export function auditDependencies(graph: DependencyGraph, modules: readonly ModuleDecl[] = []): AuditReport {
  const g = indexGraph(graph);
  const cycleDetails = findCycles(g);
  const violations = findBreakglassViolations(g);
  const shared = findSharedFate(g);
  const review = reviewFailClosed(modules);
  const missing = findMissingFallbacks(g);
  const findings = cycleDetails.length + violations.total + shared.total + review.filter((r) => r.flagged).length + missing.length;
  const listedCycles = cycleDetails.slice(0, MAX_LISTED);
  return {
    summary: { services: graph.services.length, breakglass: graph.breakglass.length, modules: modules.length, edges: g.edgeCount },
    cycles: listedCycles.map((c) => c.path),
    cycle_details: listedCycles,
    breakglass_violations: violations.listed,
    shared_fate: shared.listed,
    fail_closed_review: review.slice(0, MAX_LISTED),
    missing_fallbacks: missing.slice(0, MAX_LISTED),
    omitted: {
      cycles: omitted(cycleDetails),
      breakglass_violations: violations.total - violations.listed.length,
      shared_fate: shared.total - shared.listed.length,
      fail_closed_review: omitted(review),
      missing_fallbacks: omitted(missing),
    },
    findings,
    clean: findings === 0,
  };
}

/**
 * At most this many entries are listed per kind of finding; `omitted` counts the rest and
 * `findings` counts them all. Each break-glass path can be as long as the estate, so an
 * unbounded list on a hostile file could outgrow what JSON.stringify can hold.
 */
export const MAX_LISTED = 500;

/** The first MAX_LISTED findings of one kind, and how many there are in all. */
interface Found<T> {
  readonly listed: T[];
  readonly total: number;
}

function omitted(list: readonly unknown[]): number {
  return Math.max(0, list.length - MAX_LISTED);
}

/** A soft edge without a fallback is a hard one in disguise. */
export function hasFallback(edge: DependencyEdge): boolean {
  return edge.fallback !== undefined && edge.fallback.trim() !== '';
}

/** The graph over dense indices: services first, then tools, each in declaration order. */
interface IndexedGraph {
  readonly names: readonly string[];
  readonly nodes: readonly (GraphService | BreakglassTool)[];
  readonly tools: readonly { readonly index: number; readonly tool: BreakglassTool }[];
  readonly index: ReadonlyMap<string, number>;
  /** Every edge. */
  readonly all: readonly (readonly number[])[];
  /** Edges declared hard. */
  readonly hard: readonly (readonly number[])[];
  /** Hard edges and soft edges without a fallback. */
  readonly effectivelyHard: readonly (readonly number[])[];
  readonly edge: ReadonlyMap<string, DependencyEdge>;
  readonly edgeCount: number;
}

function indexGraph(graph: DependencyGraph): IndexedGraph {
  const nodes: (GraphService | BreakglassTool)[] = [];
  const index = new Map<string, number>();
  const tools: { index: number; tool: BreakglassTool }[] = [];
  for (const s of graph.services) {
    if (index.has(s.name)) continue;
    index.set(s.name, nodes.length);
    nodes.push(s);
  }
  for (const t of graph.breakglass) {
    if (index.has(t.name)) continue;
    index.set(t.name, nodes.length);
    tools.push({ index: nodes.length, tool: t });
    nodes.push(t);
  }
  const all: number[][] = [];
  const hard: number[][] = [];
  const effectivelyHard: number[][] = [];
  const edge = new Map<string, DependencyEdge>();
  let edgeCount = 0;
  nodes.forEach((n, v) => {
    const a: number[] = [];
    const h: number[] = [];
    const e: number[] = [];
    for (const d of n.depends_on) {
      const w = index.get(d.on);
      // Graphs built in code may name what is not declared; the parser refuses such files.
      if (w === undefined || edge.has(edgeKey(v, w))) continue;
      edge.set(edgeKey(v, w), d);
      edgeCount++;
      a.push(w);
      if (d.hard) h.push(w);
      if (d.hard || !hasFallback(d)) e.push(w);
    }
    all.push(a);
    hard.push(h);
    effectivelyHard.push(e);
  });
  return { names: nodes.map((n) => n.name), nodes, tools, index, all, hard, effectivelyHard, edge, edgeCount };
}

function edgeKey(from: number, to: number): string {
  return `${from}>${to}`;
}

function successors(lists: readonly (readonly number[])[]): (v: number) => readonly number[] {
  return (v) => lists[v] ?? [];
}

function nameOf(g: IndexedGraph, v: number): string {
  return g.names[v] ?? `#${v}`;
}

function findCycles(g: IndexedGraph): CycleDetail[] {
  const next = successors(g.all);
  return stronglyConnected(g.names.length, next)
    .filter((c) => isCyclic(c, next))
    .map((component) => {
      const walk = closedWalk(component, next);
      let allHard = true;
      for (let i = 0; i + 1 < walk.length; i++) {
        const d = g.edge.get(edgeKey(walk[i] ?? -1, walk[i + 1] ?? -1));
        if (d && !d.hard && hasFallback(d)) allHard = false;
      }
      return { members: component.map((v) => nameOf(g, v)), path: walk.map((v) => nameOf(g, v)), all_hard: allHard };
    });
}

function findBreakglassViolations(g: IndexedGraph): Found<BreakglassViolation> {
  const out: BreakglassViolation[] = [];
  let total = 0;
  for (const { index: t, tool } of g.tools) {
    // One search per tool, not per recovered service: the parents give the shortest path to each.
    const byHard = breadthFirst(t, successors(g.hard), new Set());
    const byEffectivelyHard = breadthFirst(t, successors(g.effectivelyHard), new Set());
    for (const target of tool.recovers) {
      const r = g.index.get(target);
      if (r === undefined || r === t) continue;
      const search = byHard.reached.has(r) ? byHard : byEffectivelyHard.reached.has(r) ? byEffectivelyHard : undefined;
      if (search === undefined) continue;
      total++;
      if (out.length >= MAX_LISTED) continue; // counted, not listed: a path can be as long as the estate
      const path = search.pathTo(r);
      const assumed: (readonly [string, string])[] = [];
      for (let i = 0; i + 1 < path.length; i++) {
        const from = path[i] ?? -1;
        const to = path[i + 1] ?? -1;
        if (g.edge.get(edgeKey(from, to))?.hard === false) assumed.push([nameOf(g, from), nameOf(g, to)]);
      }
      out.push({ tool: tool.name, recovers: target, path: path.map((v) => nameOf(g, v)), assumed_hard: assumed });
    }
  }
  return { listed: out, total };
}

function findSharedFate(g: IndexedGraph): Found<SharedFate> {
  const out: SharedFate[] = [];
  let total = 0;
  for (const { index: t, tool } of g.tools) {
    // Paths into what the tool recovers are break-glass violations, reported there; they are not walked again here.
    const recovered = new Set(tool.recovers.flatMap((n) => g.index.get(n) ?? []));
    const reach = breadthFirst(t, successors(g.effectivelyHard), recovered);
    // Each `key=value` the tool shares in, with the nearest node that carries it (the tool itself first).
    const carriers = new Map<string, { v: number; rank: number }>();
    reach.order.forEach((v, rank) => {
      for (const [key, value] of Object.entries(g.nodes[v]?.fate ?? {})) {
        const label = `${key}=${value}`;
        if (!carriers.has(label)) carriers.set(label, { v, rank });
      }
    });
    for (const target of tool.recovers) {
      const r = g.index.get(target);
      const service = r === undefined ? undefined : g.nodes[r];
      if (r === undefined || r === t || service === undefined) continue;
      const shared = Object.entries(service.fate)
        .flatMap(([key, value]) => {
          const label = `${key}=${value}`;
          const carrier = carriers.get(label);
          return carrier ? [{ label, ...carrier }] : [];
        })
        .sort((x, y) => x.rank - y.rank);
      for (const { label, v } of shared) {
        total++;
        if (out.length < MAX_LISTED) out.push({ tool: tool.name, service: target, label, via: reach.pathTo(v).map((x) => nameOf(g, x)) });
      }
    }
  }
  return { listed: out, total };
}

/** Every node reachable from `from` (itself first) without entering `skip`, nearest first; `pathTo` rebuilds the path from `from`. */
function breadthFirst(from: number, next: (v: number) => readonly number[], skip: ReadonlySet<number>): { order: number[]; reached: ReadonlySet<number>; pathTo: (v: number) => number[] } {
  const order = [from];
  const parent = new Map<number, number>();
  const seen = new Set([from]);
  for (let head = 0; head < order.length; head++) {
    const v = order[head];
    if (v === undefined) break;
    for (const w of next(v)) {
      if (seen.has(w) || skip.has(w)) continue;
      seen.add(w);
      parent.set(w, v);
      order.push(w);
    }
  }
  const pathTo = (v: number): number[] => {
    const path = [v];
    for (let u = parent.get(v); u !== undefined; u = parent.get(u)) path.push(u);
    return path.reverse();
  };
  return { order, reached: seen, pathTo };
}

function findMissingFallbacks(g: IndexedGraph): MissingFallback[] {
  const out: MissingFallback[] = [];
  for (const n of g.nodes) {
    for (const d of n.depends_on) {
      if (d.hard || hasFallback(d) || !g.index.has(d.on)) continue;
      out.push({ service: n.name, on: d.on, ...(d.at ? { line: d.at.line, col: d.at.col } : {}) });
    }
  }
  return out;
}
