import { ago, bakeProgress, formatDuration, stageMarks, type RolloutState, type StageMark, type Verdict } from '@failsmall/core';
import { comparison, roundValue } from '@failsmall/core';
import { gateKey, type History } from './history.ts';

/** What `GET /v1/rollouts/:id` says of the cohort: assigned nodes, those that reported the new version's load, those that failed it. */
export interface CohortCount {
  readonly nodes: number;
  readonly reported: number;
  readonly failed_loads: number;
}

export interface FrameInput {
  readonly rollout: RolloutState;
  readonly cohort: CohortCount;
  readonly history: History;
  /** The control plane's clock (ms): how long the stage has baked, and the rollout's age, are read against it. */
  readonly now: number;
}

const MARK: Record<Verdict['status'], string> = { pass: 'pass', fail: 'FAIL', inconclusive: 'wait' };
const TREND_MARK: Record<Verdict['status'], string> = { pass: '+', fail: 'x', inconclusive: '?' };

/**
 * The live view of one rollout as lines, a pure function of its state, what the watch
 * remembers from its events, and the time: the stage bar with bake progress, the cohort,
 * each gate's latest verdict with its trend, the nodes that refused, and how it ended.
 * `rollout watch` redraws it in place on a terminal.
 *
 * Examples
 *   frame({ rollout, cohort: { nodes: 1, reported: 1, failed_loads: 0 }, history, now })
 *   // ['r-0a1b2c3d4e  features v1 → v2  policy quick  running 12s', 'stages  ✓ canary  ▶ global  baking 3s of 10s', …]
 */
export function frame(f: FrameInput): string[] {
  const r = f.rollout;
  const lines = [
    `${r.id}  ${r.artifact} ${r.from_version ?? '(none)'} → ${r.to_version}  policy ${r.policy}  ${r.status.replace('_', ' ')}, started ${ago(f.now - r.created_at)} ago`,
    `stages  ${stageBar(r)}  ${stageProgress(r, f.now)}`,
    `cohort  ${cohortLine(f)}`,
  ];
  const verdicts = r.last_verdicts;
  if (verdicts.length === 0) lines.push(`gates   ${r.policy_spec.stages[r.stage_index]?.health_gates.length === 0 ? 'none on this stage' : 'no verdict yet'}`);
  for (const v of verdicts) lines.push(`gates   ${MARK[v.status]}  ${v.gate}  ${v.status === 'inconclusive' ? `value ${v.value === null ? 'none' : roundValue(v.value)}, needs ${v.min_samples} samples (has ${v.samples})` : comparison(v)}  ${trend(f.history.verdicts[gateKey(v)] ?? [v])}`);
  for (const x of f.history.refusals) lines.push(`refused ${x.node}: ${x.error}; serves ${x.serving ?? 'nothing'}`);
  if (r.status === 'paused') lines.push(`PAUSED  ${r.pause_reason ?? ''} (failsmall rollout resume ${r.id})`);
  if (r.phase === 'awaiting_approval' && r.status === 'running') lines.push(`WAITING for approval (failsmall rollout promote ${r.id})`);
  if (r.outcome) lines.push(`${r.status.replace('_', ' ')}: ${r.outcome.reason}`);
  return lines;
}

const STAGE_MARK: Record<StageMark, string> = { done: '✓', current: '▶', paused: '‖', stopped: '✗', todo: '·' };

/** `✓ canary  ▶ partial  · global`: done, current (✗ where it stopped), still to come. */
function stageBar(r: RolloutState): string {
  return stageMarks(r).map((s) => `${STAGE_MARK[s.mark]} ${s.name}`).join('  ');
}

/** `baking 3s of 10s`, `applying`, `rolling back`: where the current stage is. */
function stageProgress(r: RolloutState, now: number): string {
  const where = `${r.stage_index + 1}/${r.policy_spec.stages.length}`;
  if (r.status !== 'running') return `${where} ${r.status.replace('_', ' ')}`;
  const bake = bakeProgress(r, now);
  if (!bake) return `${where} ${r.phase.replace('_', ' ')}`;
  return `${where} baking ${seconds(bake.baked_ms)} of ${seconds(bake.bake_ms)}`;
}

/** `1/4 nodes run v2 (stage cohort 1, fleet 4), 1 refused it` */
function cohortLine(f: FrameInput): string {
  const on = f.cohort.reported - f.cohort.failed_loads;
  const fleet = f.history.fleet_nodes;
  const target = fleet ?? f.cohort.nodes;
  return `${on}/${target} nodes run ${f.rollout.to_version} (stage cohort ${f.cohort.nodes}${fleet === null ? '' : `, fleet ${fleet}`})${f.cohort.failed_loads > 0 ? `, ${f.cohort.failed_loads} refused it` : ''}${f.cohort.reported < f.cohort.nodes ? `, ${f.cohort.nodes - f.cohort.reported} not reported yet` : ''}`;
}

/**
 * `↑ ++x` (oldest first): the arrow compares the latest value with the one before, so a gate
 * drifting towards its threshold shows before it fails.
 */
export function trend(vs: readonly Verdict[]): string {
  const last = vs[vs.length - 1]?.value ?? null;
  const before = vs[vs.length - 2]?.value ?? null;
  const arrow = last === null || before === null ? ' ' : last > before ? '↑' : last < before ? '↓' : '→';
  return `${arrow} ${vs.map((v) => TREND_MARK[v.status]).join('')}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(Math.floor(ms / 1000) * 1000);
}
