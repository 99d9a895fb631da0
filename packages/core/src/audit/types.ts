import type { ModuleDecl } from '../policy/types.ts';

/** Where something was declared in the graph file (1-based). */
export interface GraphPosition {
  readonly line: number;
  readonly col: number;
}

/**
 * One `depends_on` edge. A hard edge means the dependant is down when `on` is down; a
 * soft edge names the fallback it uses instead. A soft edge without a fallback is a hard
 * one in disguise, and the audit treats it as one.
 */
export interface DependencyEdge {
  readonly on: string;
  readonly hard: boolean;
  readonly fallback?: string;
  readonly at?: GraphPosition;
}

/** Shared-fate labels: label → value, e.g. `{ dns: 'dns-main', region: 'global' }`. */
export type FateLabels = Readonly<Record<string, string>>;

export interface GraphService {
  readonly name: string;
  readonly depends_on: readonly DependencyEdge[];
  readonly fate: FateLabels;
  readonly at?: GraphPosition;
}

/** An emergency tool: what the incident commander reaches for when `recovers` is down. */
export interface BreakglassTool extends GraphService {
  readonly recovers: readonly string[];
}

/** Services and break-glass tools share one namespace; either may depend on the other. */
export interface DependencyGraph {
  readonly services: readonly GraphService[];
  readonly breakglass: readonly BreakglassTool[];
}

/** What a graph file declares: the graph, and the modules whose load-failure mode is reviewed. */
export interface Estate {
  readonly graph: DependencyGraph;
  readonly modules: readonly ModuleDecl[];
}

/** A group of services that all depend on each other (a strongly connected component). */
export interface CycleDetail {
  /** The members, in declaration order. */
  readonly members: readonly string[];
  /** A closed walk through every member: first == last, every step is a declared edge. */
  readonly path: readonly string[];
  /** True when every step of `path` is a hard edge (or a soft edge without a fallback). */
  readonly all_hard: boolean;
}

export interface BreakglassViolation {
  readonly tool: string;
  /** The recovered service the tool's hard dependencies reach. */
  readonly recovers: string;
  /** The tool, then each hard dependency in turn, ending at `recovers`. */
  readonly path: readonly string[];
  /** Soft edges without a fallback on `path`, which the audit counts as hard. */
  readonly assumed_hard: readonly (readonly [string, string])[];
}

export interface SharedFate {
  readonly tool: string;
  readonly service: string;
  /** `key=value`, e.g. `dns=dns-main`. */
  readonly label: string;
  /** From the tool to the node that carries the label: `[tool]` when the tool carries it itself. */
  readonly via: readonly string[];
}

export type FailClosedVerdict = 'protects-security-goal' | 'no-reason' | 'no-security-goal';

export interface FailClosedReview {
  readonly module: string;
  readonly reason: string | null;
  /** The security goals the reason names (empty when flagged). */
  readonly goals: readonly string[];
  readonly verdict: FailClosedVerdict;
  readonly flagged: boolean;
}

export interface MissingFallback {
  readonly service: string;
  readonly on: string;
  readonly line?: number;
  readonly col?: number;
}

/** Everything `auditDependencies` found. `findings` counts what should fail a CI gate. */
export interface AuditReport {
  readonly summary: { readonly services: number; readonly breakglass: number; readonly modules: number; readonly edges: number };
  /** One closed path per dependency cycle group, each a list of names with first == last. */
  readonly cycles: readonly (readonly string[])[];
  readonly cycle_details: readonly CycleDetail[];
  readonly breakglass_violations: readonly BreakglassViolation[];
  readonly shared_fate: readonly SharedFate[];
  /** Every fail-closed module; only the flagged ones count as findings. */
  readonly fail_closed_review: readonly FailClosedReview[];
  readonly missing_fallbacks: readonly MissingFallback[];
  /** How many entries of each list were left out (at most MAX_LISTED are listed); 0 on any real estate. */
  readonly omitted: {
    readonly cycles: number;
    readonly breakglass_violations: number;
    readonly shared_fate: number;
    readonly fail_closed_review: number;
    readonly missing_fallbacks: number;
  };
  /** Every finding, listed or omitted. */
  readonly findings: number;
  readonly clean: boolean;
}
