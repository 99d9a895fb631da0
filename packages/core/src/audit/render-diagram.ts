import { hasFallback } from './audit.ts';
import type { AuditReport, DependencyGraph } from './types.ts';

/** Why an edge is highlighted: red for cycles and break-glass paths, orange for shared fate and missing fallbacks. */
type Mark = 'red' | 'orange';

const COLORS: Record<Mark, string> = { red: '#d62728', orange: '#ff7f0e' };

interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: 'hard' | 'soft' | 'soft-no-fallback' | 'recovers';
  readonly mark?: Mark;
  readonly note?: string;
}

interface Diagram {
  readonly nodes: readonly { readonly name: string; readonly tool: boolean; readonly mark?: Mark }[];
  readonly edges: readonly DiagramEdge[];
}

/**
 * The estate as a Mermaid flowchart. Dependencies are arrows (dotted when soft), each
 * break-glass tool (a hexagon) has a thick `recovers` arrow to what it recovers, and the
 * offending edges are coloured with `linkStyle`: red on dependency cycles and on the hard
 * paths from a tool to what it recovers, orange for shared fate and missing fallbacks.
 *
 * Examples
 *   renderAuditMermaid(estate.graph, auditDependencies(estate.graph, estate.modules))
 *   // flowchart LR
 *   //   n0["proxy"] ...
 *   //   linkStyle 0,3 stroke:#d62728,stroke-width:3px
 */
export function renderAuditMermaid(graph: DependencyGraph, report: AuditReport): string {
  const d = diagram(graph, report);
  const id = new Map(d.nodes.map((n, i) => [n.name, `n${i}`]));
  const lines = ['flowchart LR'];
  for (const n of d.nodes) {
    const nid = id.get(n.name) ?? n.name;
    lines.push(n.tool ? `  ${nid}{{"${n.name}"}}` : `  ${nid}["${n.name}"]`);
  }
  const byMark: Record<Mark, number[]> = { red: [], orange: [] };
  d.edges.forEach((e, i) => {
    const from = id.get(e.from) ?? e.from;
    const to = id.get(e.to) ?? e.to;
    const label = e.note !== undefined ? `|"${e.note.replace(/"/g, '#quot;')}"|` : '';
    const arrow = e.kind === 'hard' ? '-->' : e.kind === 'recovers' ? '==>' : '-.->';
    lines.push(`  ${from} ${arrow}${label} ${to}`);
    if (e.mark) byMark[e.mark].push(i);
  });
  lines.push(`  classDef tool fill:#eef3ff,stroke:#335`);
  lines.push(`  classDef red stroke:${COLORS.red},stroke-width:3px`);
  lines.push(`  classDef orange stroke:${COLORS.orange},stroke-width:3px`);
  const tools = d.nodes.filter((n) => n.tool).map((n) => id.get(n.name));
  if (tools.length > 0) lines.push(`  class ${tools.join(',')} tool`);
  for (const mark of ['red', 'orange'] as const) {
    const marked = d.nodes.filter((n) => n.mark === mark).map((n) => id.get(n.name));
    if (marked.length > 0) lines.push(`  class ${marked.join(',')} ${mark}`);
  }
  for (const mark of ['red', 'orange'] as const) {
    if (byMark[mark].length > 0) lines.push(`  linkStyle ${byMark[mark].join(',')} stroke:${COLORS[mark]},stroke-width:3px`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The same diagram for Graphviz (`dot -Tsvg`): offending edges and nodes get
 * `color` and `penwidth=3`, soft edges are dashed, break-glass tools are hexagons.
 */
export function renderAuditDot(graph: DependencyGraph, report: AuditReport): string {
  const d = diagram(graph, report);
  const lines = ['digraph estate {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];', '  edge [fontname="Helvetica", fontsize=10];'];
  for (const n of d.nodes) {
    const attrs = [...(n.tool ? ['shape=hexagon', 'style=filled', 'fillcolor="#eef3ff"'] : []), ...(n.mark ? [`color="${COLORS[n.mark]}"`, 'penwidth=3'] : [])];
    lines.push(`  ${quote(n.name)}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`);
  }
  for (const e of d.edges) {
    const attrs = [
      ...(e.kind === 'soft' || e.kind === 'soft-no-fallback' ? ['style=dashed'] : []),
      ...(e.kind === 'recovers' ? ['style=bold', 'arrowhead=odot'] : []),
      ...(e.note !== undefined ? [`label=${quote(e.note)}`] : []),
      ...(e.mark ? [`color="${COLORS[e.mark]}"`, `fontcolor="${COLORS[e.mark]}"`, 'penwidth=3'] : []),
    ];
    lines.push(`  ${quote(e.from)} -> ${quote(e.to)}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Nodes and edges in declaration order, each marked by the worst finding it is part of. */
function diagram(graph: DependencyGraph, report: AuditReport): Diagram {
  const red = new Set<string>();
  const redNodes = new Set<string>();
  const addPath = (path: readonly string[]): void => {
    for (let i = 0; i + 1 < path.length; i++) red.add(pair(path[i] ?? '', path[i + 1] ?? ''));
    for (const n of path) redNodes.add(n);
  };
  for (const c of report.cycles) addPath(c);
  for (const v of report.breakglass_violations) {
    addPath(v.path);
    red.add(recoversPair(v.tool, v.recovers));
  }
  const orange = new Set<string>();
  const orangeNodes = new Set<string>();
  for (const m of report.missing_fallbacks) orange.add(pair(m.service, m.on));
  for (const f of report.shared_fate) {
    orange.add(recoversPair(f.tool, f.service));
    orangeNodes.add(f.tool);
    orangeNodes.add(f.service);
  }
  const sharedLabels = new Map<string, string[]>();
  for (const f of report.shared_fate) sharedLabels.set(recoversPair(f.tool, f.service), [...(sharedLabels.get(recoversPair(f.tool, f.service)) ?? []), f.label]);
  const markOf = (key: string, r: ReadonlySet<string>, o: ReadonlySet<string>): Mark | undefined => (r.has(key) ? 'red' : o.has(key) ? 'orange' : undefined);

  const names = new Set<string>();
  const nodes: { name: string; tool: boolean; mark?: Mark }[] = [];
  for (const [list, tool] of [[graph.services, false], [graph.breakglass, true]] as const) {
    for (const n of list) {
      if (names.has(n.name)) continue;
      names.add(n.name);
      const mark = markOf(n.name, redNodes, orangeNodes);
      nodes.push({ name: n.name, tool, ...(mark ? { mark } : {}) });
    }
  }
  const edges: DiagramEdge[] = [];
  for (const n of [...graph.services, ...graph.breakglass]) {
    for (const dep of n.depends_on) {
      if (!names.has(dep.on)) continue;
      const kind = dep.hard ? 'hard' : hasFallback(dep) ? 'soft' : 'soft-no-fallback';
      const mark = markOf(pair(n.name, dep.on), red, orange);
      edges.push({ from: n.name, to: dep.on, kind, ...(mark ? { mark } : {}), ...(kind === 'soft' ? { note: 'fallback' } : kind === 'soft-no-fallback' ? { note: 'no fallback' } : {}) });
    }
  }
  for (const t of graph.breakglass) {
    for (const target of t.recovers) {
      if (!names.has(target)) continue;
      const key = recoversPair(t.name, target);
      const mark = markOf(key, red, orange);
      const labels = sharedLabels.get(key);
      edges.push({ from: t.name, to: target, kind: 'recovers', ...(mark ? { mark } : {}), note: labels ? `recovers; shares ${labels.join(', ')}` : 'recovers' });
    }
  }
  return { nodes, edges };
}

function pair(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

function recoversPair(tool: string, target: string): string {
  return `recovers\u0000${tool}\u0000${target}`;
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
