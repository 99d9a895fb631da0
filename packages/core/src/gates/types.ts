import type { GateDirection } from '../policy/types.ts';

/** Fixed latency histogram bucket upper bounds (ms); the last bucket is +Inf. Agents and gates share them. */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** Counters one node pushed for one module over some period (deltas, not totals). */
export interface ModuleCounters {
  readonly requests: number;
  readonly errors: number;
  readonly loads_attempted: number;
  readonly loads_succeeded: number;
  /** Counts per LATENCY_BUCKETS_MS bucket, plus one final +Inf bucket (length = buckets + 1). */
  readonly latency_buckets: readonly number[];
  readonly counters: Readonly<Record<string, number>>;
}

/**
 * One node's counters for a gate, kept apart so that the gate can treat nodes as the units that
 * vary (errors cluster by node and in time; see stats/node-contrast.ts).
 */
export interface NodeCounters {
  readonly node: string;
  /** Since the stage began (the gate's window). */
  readonly counters: ModuleCounters;
  /**
   * The node's own counters over the history window before the rollout began, when it still
   * ran the previous version: lets the gate compare each node with its own past.
   */
  readonly history?: ModuleCounters;
  /** The node's labels, for gates split by a label (`by:`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The sum of counters of a set of nodes over a window, and how many nodes contributed. */
export interface MetricAggregate extends ModuleCounters {
  readonly nodes: number;
}

export type VerdictStatus = 'pass' | 'fail' | 'inconclusive';

/** One label value's share of a split gate's verdict. */
export interface GroupVerdict {
  readonly label: string;
  readonly value: string;
  readonly status: VerdictStatus;
  readonly cohort_nodes: number;
  readonly baseline_nodes: number;
  readonly reason: string;
  /**
   * What this value's cohort and baseline read, on the basis the split verdict's own `value` has
   * when this group fails it (null: not judged). The dashboard draws a line per value from them.
   * Absent in verdicts stored before they existed.
   */
  readonly cohort_value?: number | null;
  readonly baseline_value?: number | null;
}

/** A gate verdict carries its evidence, so that a human can check it without re-running anything. */
export interface Verdict {
  readonly gate: string;
  readonly stage: string;
  readonly module: string;
  readonly metric: string;
  readonly status: VerdictStatus;
  /** null when there was no data. */
  readonly value: number | null;
  readonly direction: GateDirection;
  readonly threshold: number;
  readonly samples: number;
  readonly min_samples: number;
  /** Cohort nodes that reported in the window, and the cohort size. */
  readonly nodes: number;
  readonly cohort_nodes: number;
  readonly window_ms: number;
  /** The same metric over the nodes outside the cohort (null when none reported). */
  readonly baseline: number | null;
  readonly baseline_samples: number;
  /** The metric or query evaluated. */
  readonly query: string;
  /** `window`: counters over window_ms; `latest-report`: each cohort node's latest load report. */
  readonly basis: 'window' | 'latest-report';
  readonly at: number;
  /** One sentence a human can read. */
  readonly reason: string;
  /** The test used, when it is more than a threshold (compare: baseline). */
  readonly test?: string;
  /** The confidence interval the test read (cohort − allowed baseline), when there is one. */
  readonly interval?: readonly [number, number];
  /** The dispersion the test allowed for (quasi-Poisson φ, 1 = independent requests), when nodes were the units. */
  readonly dispersion?: number;
  /** A gate split by a label (`by:`): each value's verdict. */
  readonly groups?: readonly GroupVerdict[];
}
