import type { Verdict } from '../api/types.ts';

/**
 * One gate on one stage over time, as uPlot takes it: x in seconds, then the cohort's value, the
 * baseline and the threshold, each null where there was none. `marks` are the verdicts (colour
 * and a letter on the chart; the list beside it says them in words).
 */
export interface GateSeries {
  /** `canary/load_success_rate`: the same gate on another stage judges another cohort. */
  readonly key: string;
  readonly stage: string;
  readonly gate: string;
  readonly direction: Verdict['direction'];
  readonly x: number[];
  readonly value: (number | null)[];
  readonly baseline: (number | null)[];
  readonly threshold: (number | null)[];
  readonly statuses: Verdict['status'][];
  /**
   * A gate split by a label: each label value's verdict at each evaluation (null where it had
   * none), and what its cohort read (a line of its own on the chart; null where it was not judged).
   */
  readonly groups: readonly { readonly label: string; readonly value: string; readonly statuses: (Verdict['status'] | null)[]; readonly values: (number | null)[] }[];
  /** The newest verdict: its sentence is shown under the chart. */
  readonly latest: Verdict;
}

/**
 * Groups a rollout's verdicts (oldest first, `GET /v1/rollouts/:id/verdicts`) into one series
 * per stage and gate, in the order the gates first appeared.
 *
 * Examples
 *   gateSeries(verdicts)[0].key // 'canary/load_success_rate'
 */
export function gateSeries(verdicts: readonly Verdict[]): GateSeries[] {
  const byKey = new Map<string, Verdict[]>();
  for (const v of verdicts) {
    const key = `${v.stage}/${v.gate}`;
    const list = byKey.get(key) ?? [];
    list.push(v);
    byKey.set(key, list);
  }
  return [...byKey.entries()].flatMap(([key, vs]) => {
    const latest = vs[vs.length - 1];
    if (!latest) return [];
    const groupKeys = [...new Set(vs.flatMap((v) => (v.groups ?? []).map((g) => `${g.label}=${g.value}`)))].sort();
    return [{
      key, stage: latest.stage, gate: latest.gate, direction: latest.direction, latest,
      x: vs.map((v) => v.at / 1000),
      value: vs.map((v) => v.value),
      baseline: vs.map((v) => v.baseline),
      threshold: vs.map((v) => (v.test === undefined ? v.threshold : null)),
      statuses: vs.map((v) => v.status),
      groups: groupKeys.map((k) => {
        const [label = '', value = ''] = k.split('=');
        const mine = vs.map((v) => v.groups?.find((g) => g.label === label && g.value === value));
        return { label, value, statuses: mine.map((g) => g?.status ?? null), values: mine.map((g) => g?.cohort_value ?? null) };
      }),
    }];
  });
}

/** `failed`, `passed`, `waiting`: a verdict in words, never colour alone. */
export function verdictWords(s: Verdict['status']): string {
  return s === 'fail' ? 'failed' : s === 'pass' ? 'passed' : 'inconclusive';
}
