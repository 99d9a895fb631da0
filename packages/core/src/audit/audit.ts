import type { ModuleDecl } from '../policy/types.ts';
import { reviewFailClosed } from './fail-closed.ts';
import { closedWalk, isCyclic, shortestPath, stronglyConnected } from './scc.ts';
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
 *   something it recovers, itself or through any of its transitive hard dependencies.
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
  const findings = cycleDetails.length + violations.length + shared.length + review.filter((r) => r.flagged).length + missing.length;
  return {
    summary: { services: graph.services.length, breakglass: graph.breakglass.length, modules: modules.length, edges: g.edgeCount },
    cycles: cycleDetails.map((c) => c.path),
    cycle_details: cycleDetails,
    breakglass_violations: violations,
    shared_fate: shared,
    fail_closed_review: review,
    missing_fallbacks: missing,
    findings,
    clean: findings === 0,
  };
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

function findBreakglassViolations(g: IndexedGraph): BreakglassViolation[] {
  const out: BreakglassViolation[] = [];
  for (const { index: t, tool } of g.tools) {
    for (const target of tool.recovers) {
      const r = g.index.get(target);
      if (r === undefined || r === t) continue;
      const path = shortestPath(t, (v) => v === r, undefined, successors(g.hard))
        ?? shortestPath(t, (v) => v === r, undefined, successors(g.effectivelyHard));
      if (path === undefined) continue;
      const assumed: (readonly [string, string])[] = [];
      for (let i = 0; i + 1 < path.length; i++) {
        const from = path[i] ?? -1;
        const to = path[i + 1] ?? -1;
        if (g.edge.get(edgeKey(from, to))?.hard === false) assumed.push([nameOf(g, from), nameOf(g, to)]);
      }
      out.push({ tool: tool.name, recovers: target, path: path.map((v) => nameOf(g, v)), assumed_hard: assumed });
    }
  }
  return out;
}

function findSharedFate(g: IndexedGraph): SharedFate[] {
  const out: SharedFate[] = [];
  for (const { index: t, tool } of g.tools) {
    const reach = breadthFirst(t, successors(g.effectivelyHard));
    for (const target of tool.recovers) {
      const r = g.index.get(target);
      const recovered = r === undefined ? undefined : g.nodes[r];
      if (r === undefined || r === t || recovered === undefined) continue;
      const seen = new Set<string>();
      for (const v of reach.order) {
        if (v === r) continue; // depending on it is a break-glass violation, reported there
        const carrier = g.nodes[v];
        if (carrier === undefined) continue;
        for (const [key, value] of Object.entries(carrier.fate)) {
          const label = `${key}=${value}`;
          if (recovered.fate[key] !== value || seen.has(label)) continue;
          seen.add(label);
          out.push({ tool: tool.name, service: target, label, via: reach.pathTo(v).map((x) => nameOf(g, x)) });
        }
      }
    }
  }
  return out;
}

/** Every node reachable from `from` (itself first), nearest first; `pathTo` rebuilds the path from `from`. */
function breadthFirst(from: number, next: (v: number) => readonly number[]): { order: number[]; pathTo: (v: number) => number[] } {
  const order = [from];
  const parent = new Map<number, number>();
  const seen = new Set([from]);
  for (let head = 0; head < order.length; head++) {
    const v = order[head];
    if (v === undefined) break;
    for (const w of next(v)) {
      if (seen.has(w)) continue;
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
  return { order, pathTo };
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
