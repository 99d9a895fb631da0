/**
 * One batch of runs of bench/judges.ts: simulate each rollout once and pass it to every judge.
 * Used by the worker threads (worker.ts), and directly by the test (test/bench-judges.test.ts).
 */
import { FAILSMALL_GATE_CONFIG, failsmallJudge } from './failsmall.ts';
import { HELD_OUT } from './held-out.ts';
import { oracleFor, peerJudges, type JudgeName } from './peers.ts';
import { lumped, type Judge } from './rules.ts';
import { SCENARIOS, STREAMS, simulateRun, type StreamSpec } from './streams.ts';

export interface Task {
  readonly stream: string;
  readonly scenario: string;
  /** Runs [from, to) of this stream and scenario. */
  readonly from: number;
  readonly to: number;
  readonly seed: number;
  readonly intervalSteps: number;
  readonly steps: number;
  readonly baselineNodes: number;
  readonly judges: readonly JudgeName[];
}

export interface TaskResult {
  readonly task: Task;
  /** judge → time of rollback (s) or null, one per run. */
  readonly times: Record<string, (number | null)[]>;
  readonly lumpedReads: number;
  readonly ms: number;
}

export function findStream(key: string): { spec: StreamSpec; index: number } {
  const i = STREAMS.findIndex((s) => s.key === key);
  if (i >= 0) return { spec: STREAMS[i] as StreamSpec, index: i };
  const j = HELD_OUT.findIndex((s) => s.key === key);
  if (j >= 0) return { spec: HELD_OUT[j] as StreamSpec, index: 100 + j };
  throw new Error(`unknown stream ${key}`);
}

/** The judges that apply to a stream (the oracle only where it knows the truth). */
export function judgesFor(spec: StreamSpec, wanted: readonly JudgeName[]): JudgeName[] {
  return wanted.filter((j) => j !== 'oracle' || spec.oracle === true);
}

export function runTask(t: Task): TaskResult {
  const t0 = performance.now();
  const { spec, index } = findStream(t.stream);
  const si = SCENARIOS.findIndex((s) => s.key === t.scenario);
  const sc = SCENARIOS[si];
  if (!sc) throw new Error(`unknown scenario ${t.scenario}`);
  const peers = peerJudges(t.intervalSteps, t.steps);
  const all: Record<string, Judge> = {
    ...peers,
    failsmall: failsmallJudge(t.intervalSteps, FAILSMALL_GATE_CONFIG),
    oracle: oracleFor(sc, t.intervalSteps, FAILSMALL_GATE_CONFIG.alpha),
  };
  const names = judgesFor(spec, t.judges);
  const times: Record<string, (number | null)[]> = Object.fromEntries(names.map((n) => [n, []]));
  const before = lumped.reads;
  for (let r = t.from; r < t.to; r++) {
    const d = simulateRun(spec, sc, t.seed, index, si, r, t.steps, t.baselineNodes);
    for (const n of names) times[n]?.push(all[n]?.(d) ?? null);
  }
  return { task: t, times, lumpedReads: lumped.reads - before, ms: performance.now() - t0 };
}
