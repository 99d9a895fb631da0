/**
 * What must hold of a rollout's event log after any number of kills, read from the log alone
 * (plus the kill windows the chaos harness observed from outside): it ended as its version
 * deserved, every transition happened exactly once and in order, and no stage promoted on bake
 * time that nobody watched. Pure, so it is tested on hand-written logs as well as used live.
 */

export interface LoggedEvent {
  readonly seq: number;
  readonly type: string;
  readonly at: number;
  readonly payload: Record<string, unknown>;
}

/** A span of wall time (ms) in which no control-plane process could have checked this rollout's gates. */
export interface Blind {
  readonly from: number;
  readonly to: number;
}

export interface LogExpectation {
  /** Stage names in order. */
  readonly stages: readonly string[];
  readonly outcome: 'completed' | 'rolled_back';
  readonly bakeMs: number;
  readonly intervalMs: number;
  readonly blind: readonly Blind[];
}

/** Events that record a decision (not gate checks or extensions, which repeat by design). */
const CHECKS = new Set(['gates.evaluated', 'rollout.extended', 'rollout.bake_extended']);

/**
 * The violations in one rollout's log; empty when it is sound. The transitions must read, exactly:
 * started, then per stage stage_started, baking (optional before a rollback), then promoted to the
 * next stage, completed on the last, or rolling_back and rolled_back.
 */
export function logViolations(events: readonly LoggedEvent[], want: LogExpectation): string[] {
  const out: string[] = [];
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.seq <= events[i - 1]!.seq) out.push(`event seq ${events[i]!.seq} follows ${events[i - 1]!.seq}: lost order or a double`);
  }
  const moves = events.filter((e) => !CHECKS.has(e.type));
  const expected = expectedMoves(moves, want);
  const got = moves.map(describe);
  if (expected.join(' | ') !== got.join(' | ')) out.push(`transitions were [${got.join(', ')}]; a sound ${want.outcome} rollout reads [${expected.join(', ')}]`);
  out.push(...unwatchedBakes(events, want));
  return out;
}

function describe(e: LoggedEvent): string {
  const type = e.type.replace(/^rollout\./, '');
  if (type === 'promoted') return `promoted ${String(e.payload.from_stage)}->${String(e.payload.to_stage)}`;
  if (type === 'started') return type;
  return `${type} ${String(e.payload.stage ?? '')}`.trim();
}

/**
 * The one sound sequence for this outcome, given how far the log says it went: a rollback may come
 * at any stage, before or after its bake began, so the expected list follows the log's own stage
 * and baking choices and checks everything else.
 */
function expectedMoves(moves: readonly LoggedEvent[], want: LogExpectation): string[] {
  const got = moves.map(describe);
  const out = ['started'];
  for (let i = 0; i < want.stages.length; i++) {
    const stage = want.stages[i]!;
    out.push(`stage_started ${stage}`);
    const rollbackHere = want.outcome === 'rolled_back' && (got.includes(`rolling_back ${stage}`) || i === want.stages.length - 1);
    if (!rollbackHere || got.includes(`baking ${stage}`)) out.push(`baking ${stage}`);
    if (rollbackHere) return [...out, `rolling_back ${stage}`, `rolled_back ${stage}`];
    if (i === want.stages.length - 1) return [...out, `completed ${stage}`];
    out.push(`promoted ${stage}->${want.stages[i + 1]}`);
  }
  return out;
}

/**
 * For each stage that baked and then promoted (or completed), the bake it was credited with must
 * have been watched: its baking span less the blind spans inside it is at least the bake, less
 * two intervals (the controller counts a gap as unwatched only past two intervals, and then all
 * but one interval of it).
 */
function unwatchedBakes(events: readonly LoggedEvent[], want: LogExpectation): string[] {
  const out: string[] = [];
  const slack = 2 * want.intervalMs;
  for (const stage of want.stages) {
    const baking = events.find((e) => e.type === 'rollout.baking' && e.payload.stage === stage);
    const passed = events.find((e) => (e.type === 'rollout.promoted' && e.payload.from_stage === stage) || (e.type === 'rollout.completed' && e.payload.stage === stage));
    if (!baking || !passed) continue;
    const span = passed.at - baking.at;
    const blind = want.blind.reduce((sum, b) => sum + Math.max(0, Math.min(b.to, passed.at) - Math.max(b.from, baking.at)), 0);
    const watched = span - blind;
    if (watched < want.bakeMs - slack) {
      out.push(`stage ${stage} passed after ${span} ms of bake of which ${blind} ms nobody watched (${watched} ms watched; the bake is ${want.bakeMs} ms)`);
    }
  }
  return out;
}
