/**
 * The dependency and shared-fate audit (`failsmall audit deps`): parse an estate's
 * graph file, find the cycles and break-glass tools that depend on what they recover,
 * and render the findings as a table, Mermaid or Graphviz.
 */
export * from './types.ts';
export { parseEstate, GRAPH_TOP_LEVEL_KEYS, SERVICE_KEYS, BREAKGLASS_KEYS, FATE_LABELS } from './parse.ts';
export { EDGE_KEYS, DEPENDENCY_NAME } from './edges.ts';
export type { EstateParseOptions } from './parse.ts';
export { auditDependencies, hasFallback, MAX_LISTED } from './audit.ts';
export { reviewFailClosed, securityGoals, SECURITY_GOALS } from './fail-closed.ts';
export { stronglyConnected, closedWalk, isCyclic, shortestPath } from './scc.ts';
export { renderAuditTable, type TableRenderer } from './render-table.ts';
export { renderAuditMermaid, renderAuditDot } from './render-diagram.ts';
export { AUDIT_ERROR_CODES, AUDIT_WARNING_CODES } from './codes.ts';
export type { AuditErrorCode, AuditWarningCode } from './codes.ts';
