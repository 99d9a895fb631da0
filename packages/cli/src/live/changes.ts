import type { RolloutState, Verdict } from '@failsmall/core';
import { narrate, type EventRecord } from '@failsmall/core';
import type { CohortCount } from './frame.ts';
import { gateKey } from './history.ts';

/**
 * The lines a watch prints for one event, less what it already said: the gates are judged every
 * interval, and a log that repeats each gate line every second buries the one line that changed.
 * A gate gets a line when its verdict changes (the first, pass → fail, …); every other event is
 * a change by nature (a stage starts, a node refuses, the rollout ends) and keeps its lines.
 * `said` maps each gate (gateKey) to the verdict last printed; the answer carries the new map.
 *
 * Examples
 *   changedLines(gatesEvaluated([pass]), {})           // { lines: ['    pass  load_success_rate: 1 >= 0.999 …'], said: { 'canary/…': 'pass' } }
 *   changedLines(gatesEvaluated([pass]), thatSaid)     // { lines: [], said: thatSaid }
 */
export function changedLines(e: EventRecord, said: Readonly<Record<string, Verdict['status']>>): { lines: string[]; said: Readonly<Record<string, Verdict['status']>> } {
  if (e.type !== 'gates.evaluated') return { lines: narrate(e), said };
  const next = { ...said };
  const changed = ((e.payload.verdicts as Verdict[] | undefined) ?? []).filter((v) => {
    if (next[gateKey(v)] === v.status) return false;
    next[gateKey(v)] = v.status;
    return true;
  });
  return { lines: changed.length > 0 ? narrate({ ...e, payload: { ...e.payload, verdicts: changed } }) : [], said: next };
}

/**
 * `  stage canary: 3 of 10 cohort nodes run v2 (1 refused it)`: while a stage applies, a line
 * each time more cohort nodes report the load, which no event says until all have (or
 * load_timeout passes). `said` is the key of the count last printed; the answer carries the new one.
 */
export function cohortChange(r: RolloutState, c: CohortCount, said: string): { lines: string[]; said: string } {
  const key = `${r.stage_index}/${c.reported}/${c.failed_loads}`;
  if (r.status !== 'running' || r.phase !== 'applying' || c.reported === 0 || key === said) return { lines: [], said };
  const stage = r.policy_spec.stages[r.stage_index]?.name ?? '?';
  return { lines: [`  stage ${stage}: ${c.reported - c.failed_loads} of ${c.nodes} cohort nodes run ${r.to_version}${c.failed_loads > 0 ? ` (${c.failed_loads} refused it)` : ''}`], said: key };
}
