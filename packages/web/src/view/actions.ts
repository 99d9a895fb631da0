import type { RolloutState } from '../api/types.ts';

/** A command the Rollout page offers: the API call, its button, and the role the API asks of it. */
export interface RolloutAction {
  readonly type: 'pause' | 'resume' | 'promote' | 'abort';
  readonly label: string;
  /** What the confirmation says will happen. */
  readonly consequence: string;
  readonly role: 'deployer' | 'approver';
}

/**
 * The commands a token may give this rollout now: those its state allows, and its role too
 * (packages/server/src/routes/rollouts.ts: stopping is a deployer's, promoting an approver's). A
 * viewer gets none; so does a finished rollout.
 *
 * Examples
 *   actionsFor(running, ['viewer', 'deployer']).map((a) => a.type) // ['pause', 'abort']
 */
export function actionsFor(r: Pick<RolloutState, 'status' | 'phase' | 'from_version' | 'to_version' | 'policy_spec' | 'stage_index'>, grants: readonly string[]): RolloutAction[] {
  const next = r.policy_spec.stages[r.stage_index + 1]?.name;
  const waiting = r.status === 'running' && r.phase === 'awaiting_approval';
  const all: (RolloutAction & { when: boolean })[] = [
    { type: 'pause', label: 'Pause', role: 'deployer', when: r.status === 'running', consequence: 'The rollout stops where it is: no stage is promoted and no gate is judged until someone resumes it.' },
    { type: 'resume', label: 'Resume', role: 'deployer', when: r.status === 'paused', consequence: 'The rollout goes on from where it was paused.' },
    {
      type: 'promote', label: waiting ? 'Approve' : 'Promote', role: 'approver', when: r.status === 'running',
      consequence: next ? `The rollout moves to stage ${next} now, without waiting for this stage's gates.` : 'The rollout completes now, without waiting for this stage\'s gates.',
    },
    { type: 'abort', label: 'Abort', role: 'deployer', when: r.status === 'running' || r.status === 'paused', consequence: `Every node given ${r.to_version} goes back to ${r.from_version ?? 'no version'}.` },
  ];
  return all.filter((a) => a.when && grants.includes(a.role)).map(({ when: _, ...a }) => a);
}
