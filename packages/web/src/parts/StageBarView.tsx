import type { RolloutState } from '../api/types.ts';
import { stageBar } from '../view/stage-bar.ts';

const SIGN = { done: '✓', current: '▶', paused: '‖', stopped: '✗', todo: '·' } as const;

/** Where the rollout is: every stage with its scope and its mark in words, and the current one's bake. */
export function StageBarView({ rollout, now }: { rollout: RolloutState; now: number }) {
  const bar = stageBar(rollout, now);
  return (
    <section aria-labelledby="stages-title">
      <h2 id="stages-title">Stages</h2>
      <ol className="stage-bar">
        {bar.cells.map((c) => (
          <li key={c.name} className={`stage stage-${c.mark}`} aria-current={c.mark === 'current' || c.mark === 'paused' || c.mark === 'stopped' ? 'step' : undefined}>
            <span className="stage-name"><span aria-hidden="true">{SIGN[c.mark]} </span>{c.name}</span>
            <span className="stage-scope">{c.scope}</span>
            <span className="stage-words">{c.words}</span>
            {c.holdback ? <span className="stage-holdback">{c.holdback}</span> : null}
          </li>
        ))}
      </ol>
      <p className="progress">
        <span>Stage {rollout.stage_index + 1} of {rollout.policy_spec.stages.length}: {bar.progress}</span>
        {bar.baked !== null ? <progress max={1} value={bar.baked} aria-label="bake time done">{Math.round(bar.baked * 100)}%</progress> : null}
      </p>
    </section>
  );
}
