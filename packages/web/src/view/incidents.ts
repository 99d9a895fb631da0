import type { Incident, IncidentEntry, Triage } from '../api/types.ts';

/** Who or what opened an incident, in words. */
export const OPENED_BY: Readonly<Record<Incident['opened_by'], string>> = { gate: 'a failed gate', alert: 'an alert', manual: 'a person' };

/** Triage's verdicts in words: what a reader calls each cause. */
const CAUSES: Readonly<Record<string, string>> = {
  'change-regression': 'a change that regressed',
  ddos: 'a DDoS',
  'internal-degradation': 'an internal degradation',
  'third-party-failure': 'a third party failing',
  unknown: 'unknown: no cause has evidence enough',
};

export function causeWords(cls: string): string {
  return CAUSES[cls] ?? cls;
}

/**
 * Open incidents first (any status but resolved), then the recent ones; newest first in each.
 *
 * Examples
 *   sortIncidents([resolved, open]).map((i) => i.status) // ['open', 'resolved']
 */
export function sortIncidents(list: readonly Incident[]): Incident[] {
  return [...list].sort((a, b) => Number(a.status === 'resolved') - Number(b.status === 'resolved') || b.opened_at - a.opened_at);
}

/**
 * The newest triage on an incident's timeline (the service records each result as a `triage`
 * entry with the whole result in `data.triage`), with when it ran; null before the first.
 */
export function latestTriage(timeline: readonly IncidentEntry[]): { readonly at: number; readonly triage: Triage } | null {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const e = timeline[i];
    const t = e?.kind === 'triage' ? e.data.triage : undefined;
    if (e && typeof t === 'object' && t !== null && Array.isArray((t as Triage).hypotheses)) return { at: e.at, triage: t as Triage };
  }
  return null;
}

/** `+2.3`, `−0.7`: an evidence weight in nats, signed, as the CLI's triage prints it. */
export function weightWords(w: number): string {
  return `${w < 0 ? '−' : '+'}${Math.abs(w).toFixed(1)}`;
}
