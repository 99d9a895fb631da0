import { plainTable } from '@failsmall/core';
import type { RegimeRecord } from './record.ts';

/** The regimes a scenario runs under, in report order. */
export type RegimeName = 'global-push' | 'staged' | 'staged-safe-loader';
export const REGIMES: readonly RegimeName[] = ['global-push', 'staged', 'staged-safe-loader'];

/** One rollout the engine ran in a staged regime. */
export interface RolloutSummary {
  readonly id: string;
  readonly version: string;
  readonly from_version: string | null;
  /** true when some node's module cannot handle this version. */
  readonly bad: boolean;
  readonly started_seconds: number;
  /** null while still active at the end of the run. */
  readonly ended_seconds: number | null;
  /** The engine's status at the end: completed, rolled_back, paused, running, … or `refused` (startRollout refused it). */
  readonly final_state: string;
  readonly stopped_at_stage: string | null;
  readonly failing_gate: string | null;
  readonly reason: string | null;
}

/** What one regime did to the fleet. See docs/scenarios.md for each field. */
export interface RegimeReport {
  readonly total_requests: number;
  /** 5xx caused by the change (crashes, fail-closed modules, added error rate). */
  readonly failed_requests: number;
  readonly failed_share: number;
  /** 5xx at the background error rate, present with or without the change. */
  readonly background_failed_requests: number;
  /** Requests served but degraded (e.g. bot score 0). */
  readonly degraded_requests: number;
  /** Requests served slower because of the change (an effect's add_latency or latency_factor), not failed. */
  readonly slowed_requests: number;
  /** Requests a module that failed open served from its safe default (also counted as degraded). */
  readonly fail_open_requests: number;
  /** Nodes that ever served a version their module cannot handle (applied, not merely received). */
  readonly nodes_exposed: number;
  /** First push of a bad version → first failed gate (or the human's detection under global push). */
  readonly detect_seconds: number | null;
  /** Detection → the last node back on a good version. */
  readonly rollback_seconds: number | null;
  /** The version every node serves at the end, or `mixed`. */
  readonly final_state: string;
  /** How many nodes serve each version at the end (`none`: nothing, or the module's fail-open default). */
  readonly final_serving: Readonly<Record<string, number>>;
  readonly pushes: number;
  /** Staged: versions a newer push replaced while they waited for the active rollout to end (never rolled out). */
  readonly superseded_versions: number;
  /** Staged: the version still waiting for the active rollout to end when the run ended (null: none). */
  readonly queued_version: string | null;
  /** Load reports a `lost_load_reports` fault kept from the control plane. */
  readonly lost_load_reports: number;
  readonly rollouts: readonly RolloutSummary[];
  /** With `simulate(s, { record: true })`, staged regimes only: what the control plane would have recorded, and the truth. */
  readonly record?: RegimeRecord;
}

export interface SimulationReport {
  readonly scenario: string;
  readonly seed: number;
  readonly nodes: number;
  readonly duration_seconds: number;
  readonly tick_seconds: number;
  /** When the first version some module cannot handle was pushed (null: never). */
  readonly first_bad_push_seconds: number | null;
  readonly versions: readonly { readonly version: string; readonly sha256: string; readonly bytes: number; readonly entries: number; readonly bad: boolean }[];
  readonly regimes: Partial<Record<RegimeName, RegimeReport>>;
  readonly ratios: { readonly staged_vs_global: number | null; readonly safe_vs_global: number | null };
}

/**
 * The side-by-side table for humans.
 *
 * Examples
 *   console.log(formatReport(simulate(scenario)));
 */
export function formatReport(r: SimulationReport): string {
  const names = REGIMES.filter((n) => r.regimes[n] !== undefined);
  const cols = names.map((n) => r.regimes[n] as RegimeReport);
  const rows: [string, ...string[]][] = [
    ['total requests', ...cols.map((c) => int(c.total_requests))],
    ['failed requests (5xx from the change)', ...cols.map((c) => int(c.failed_requests))],
    ['failed share', ...cols.map((c) => pct(c.failed_share))],
    ['degraded requests', ...cols.map((c) => int(c.degraded_requests))],
    // Only where the scenario slows requests at all: most tables stay as they were.
    ...(cols.some((c) => c.fail_open_requests > 0) ? [['served by a fail-open safe default', ...cols.map((c) => int(c.fail_open_requests))] as [string, ...string[]]] : []),
    ...(cols.some((c) => c.slowed_requests > 0) ? [['slowed requests (latency from the change)', ...cols.map((c) => int(c.slowed_requests))] as [string, ...string[]]] : []),
    ['background 5xx', ...cols.map((c) => int(c.background_failed_requests))],
    ['nodes exposed', ...cols.map((c) => `${int(c.nodes_exposed)} (${pct(c.nodes_exposed / r.nodes)})`)],
    ['detected after', ...cols.map((c) => secs(c.detect_seconds))],
    ['rolled back after', ...cols.map((c) => secs(c.rollback_seconds))],
    ['final state', ...cols.map((c) => c.final_state)],
    ['pushes / rollouts', ...cols.map((c) => (c.rollouts.length === 0 ? `${c.pushes} / -` : `${c.pushes} / ${c.rollouts.length} (${summarize(c.rollouts)})`))],
    ...(cols.some((c) => c.superseded_versions > 0 || c.queued_version !== null) ? [['superseded while queued / queued at end', ...cols.map((c) => `${c.superseded_versions} / ${c.queued_version ?? '-'}`)] as [string, ...string[]]] : []),
    ...(cols.some((c) => c.lost_load_reports > 0) ? [['load reports lost', ...cols.map((c) => int(c.lost_load_reports))] as [string, ...string[]]] : []),
    ['failed vs global-push', ...names.map((n) => (n === 'global-push' ? '1' : ratio(n === 'staged' ? r.ratios.staged_vs_global : r.ratios.safe_vs_global)))],
  ];
  const header: [string, ...string[]] = ['', ...names];
  // core's plainTable: the same aligned columns as every other failsmall table off a terminal.
  const table = plainTable(header, rows, { align: header.map((_, i) => (i === 0 ? 'left' : 'right')) });
  const head = `scenario ${r.scenario} · seed ${r.seed} · ${int(r.nodes)} nodes · ${secs(r.duration_seconds)} simulated, ${r.tick_seconds}s ticks`
    + (r.first_bad_push_seconds !== null ? ` · first bad push at ${secs(r.first_bad_push_seconds)}` : ' · no bad version pushed');
  const firstStop = names.flatMap((n) => (r.regimes[n]?.rollouts ?? []).filter((x) => x.failing_gate !== null).slice(0, 1).map((x) => `  ${n}: ${x.reason ?? ''}`));
  return [head, '', table, ...(firstStop.length > 0 ? ['', 'first gate failure:', ...firstStop] : [])].join('\n');
}

function summarize(rollouts: readonly RolloutSummary[]): string {
  const counts = new Map<string, number>();
  for (const r of rollouts) counts.set(r.final_state, (counts.get(r.final_state) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${v} ${k.replace('_', ' ')}`).join(', ');
}

function int(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function pct(x: number): string {
  if (x === 0) return '0%';
  const p = x * 100;
  return `${p >= 1 ? p.toFixed(1) : Number(p.toPrecision(2))}%`;
}

function secs(s: number | null): string {
  if (s === null) return 'never';
  if (s < 60) return `${Number(s.toFixed(1))}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return rest === 0 ? `${m}m` : `${m}m${rest}s`;
  const h = Math.floor(m / 60);
  return `${h}h${m % 60 > 0 ? `${m % 60}m` : ''}`;
}

function ratio(x: number | null): string {
  if (x === null) return 'n/a';
  if (x === 0) return '0';
  return x >= 0.1 ? x.toFixed(2) : `1/${int(1 / x)}`;
}
