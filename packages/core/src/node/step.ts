import { afterLoad, convergeAction, markServing } from './decide.ts';
import type { ArtifactNode, DesiredEntry, LoadOutcome, LoadReport, NodeState } from './types.ts';
import type { ModuleState } from '../loading/on-failure.ts';

/** What happens to a node: the control plane's desired state arrives, or a load it asked for ends. Time comes with the event. */
export type NodeEvent =
  | { readonly type: 'desired'; readonly at: number; readonly artifacts: readonly DesiredEntry[] }
  | { readonly type: 'loaded'; readonly at: number; readonly entry: DesiredEntry; readonly outcome: LoadOutcome };

/** What the node's shell carries out. */
export type NodeEffect =
  /** Fetch the version's bytes and run the load sequence (nextLoadStep) on them; answer with a `loaded` event. */
  | { readonly type: 'load'; readonly entry: DesiredEntry }
  /** Tell the control plane (POST /v1/nodes/:id/loads). */
  | { readonly type: 'report'; readonly report: LoadReport }
  /** What the artifact serves changed (metrics, logs). */
  | { readonly type: 'serving'; readonly artifact: string; readonly version: string | null; readonly state: ModuleState['state'] }
  /** Persist the node state (a restart must find pins, history and what is served). */
  | { readonly type: 'save' };

/**
 * The node's pure core: one event in, the next state and the effects out. Never reads a clock:
 * `at` comes with the event, so the agent, a test with a fake clock and the simulator in virtual
 * time get the same answers.
 *
 * Examples
 *   nodeStep({ artifacts: {} }, { type: 'desired', at: 0, artifacts: [entry] })
 *     → { state, effects: [{ type: 'load', entry }] }
 */
export function nodeStep(state: NodeState, event: NodeEvent): { state: NodeState; effects: NodeEffect[] } {
  const artifacts: Record<string, ArtifactNode> = { ...state.artifacts };
  const effects: NodeEffect[] = [];
  if (event.type === 'desired') {
    let changed = false;
    for (const d of event.artifacts) {
      const node = artifacts[d.artifact];
      const action = convergeAction(node, d, event.at);
      if (action === 'now-serving' && node) {
        artifacts[d.artifact] = markServing(node);
        effects.push({ type: 'serving', artifact: d.artifact, version: d.version, state: 'serving' });
        changed = true;
      } else if (action === 'load') {
        effects.push({ type: 'load', entry: d });
      }
    }
    if (changed) effects.push({ type: 'save' });
    return { state: changed ? { artifacts } : state, effects };
  }
  const { node, report } = afterLoad(artifacts[event.entry.artifact], event.entry, event.outcome, event.at);
  artifacts[event.entry.artifact] = node;
  effects.push({ type: 'serving', artifact: event.entry.artifact, version: report.serving, state: report.module_state }, { type: 'save' }, { type: 'report', report });
  return { state: { artifacts }, effects };
}
