import type { ComponentStatus, StatusIndicator, StatusPoll, VendorStatus } from '@failsmall/core';
import { TRIAGE_MODEL } from './model.ts';
import { ended } from './strength.ts';
import type { TriageScenario } from './types.ts';

/**
 * The vendors' status pages as polled (once a minute, at the steps `times`): unreachable while
 * a status_page_down lasts, else the worst indicator any outage or incident reports.
 */
export function statusPages(s: TriageScenario, times: readonly number[]): VendorStatus[] {
  const every = Math.max(TRIAGE_MODEL.status_poll_ms, s.step_ms);
  return s.vendors.map((v) => ({
    vendor: v.name,
    polls: times.filter((t, i) => i === 0 || Math.floor(t / every) !== Math.floor((times[i - 1] ?? 0) / every)).map((t): StatusPoll => {
      const down = s.events.some((e) => e.type === 'status_page_down' && e.vendor === v.name && t >= e.at_ms && !ended(e, t));
      if (down) return { at_ms: s.start_ms + t, reachable: false };
      let indicator: StatusIndicator = 'none';
      const components = new Map<string, ComponentStatus>(v.components.map((c) => [c, 'operational']));
      for (const e of s.events) {
        if (ended(e, t)) continue;
        const report = e.type === 'vendor_outage' && e.vendor === v.name && e.status && t >= e.at_ms + e.status.after_ms ? e.status
          : e.type === 'vendor_incident' && e.vendor === v.name && t >= e.at_ms ? e : undefined;
        if (!report) continue;
        if (INDICATOR_RANK[report.indicator] > INDICATOR_RANK[indicator]) indicator = report.indicator;
        for (const c of report.components) components.set(c.name, c.status);
      }
      return { at_ms: s.start_ms + t, reachable: true, indicator, components: [...components].map(([name, status]) => ({ name, status })) };
    }),
  }));
}

/** How bad an indicator is: maintenance shows over none, and any incident's indicator over maintenance. */
const INDICATOR_RANK: Readonly<Record<StatusIndicator, number>> = { none: 0, maintenance: 0.5, minor: 1, major: 2, critical: 3 };
