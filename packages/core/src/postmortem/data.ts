import type { IncidentStatus, OpenedBy, Severity } from '../incident/types.ts';
import type { PostmortemFacts } from './facts.ts';
import { findings } from './findings.ts';
import type { FindingCode } from './findings.ts';
import { iso } from './format.ts';
import { measureImpact } from './impact.ts';
import type { ImpactData } from './impact.ts';
import { detection, response, trigger } from './response.ts';
import type { DetectionData, ResponseData, TriggerData } from './response.ts';
import { timeline } from './timeline.ts';
import type { TimelineItem } from './timeline.ts';

export const POSTMORTEM_SCHEMA_ID = 'failsmall.postmortem/v1';

/**
 * The JSON export of a postmortem: every key always present, `null` where the fact was not
 * recorded. Times are ISO 8601 UTC strings, durations seconds, shares 0..1. The schema is
 * POSTMORTEM_JSON_SCHEMA (docs/postmortem.md).
 */
export interface PostmortemData {
  readonly schema: typeof POSTMORTEM_SCHEMA_ID;
  readonly incident: {
    readonly id: string;
    readonly title: string;
    readonly severity: Severity;
    readonly status: IncidentStatus;
    readonly opened_by: OpenedBy;
    readonly opened_at: string;
    readonly resolved_at: string | null;
  };
  readonly trigger: TriggerData | null;
  readonly impact: ImpactData;
  readonly detection: DetectionData;
  readonly response: ResponseData;
  readonly timeline: readonly TimelineItem[];
  readonly findings: readonly { readonly code: FindingCode; readonly text: string; readonly source: string }[];
  readonly action_items: readonly { readonly code: FindingCode; readonly text: string; readonly source: string }[];
}

/**
 * The numbers of a postmortem, computed from its facts: a pure function, so the CLI's
 * `--format json`, the server's route and the Markdown draft all carry the same numbers.
 *
 * Examples
 *   const data = postmortemData(facts);
 *   data.impact.failed_requests; // Σ errors over the recorded intervals, or null
 *   data.detection.time_to_detect_s; // first failed gate or alert − the change's start
 */
export function postmortemData(facts: PostmortemFacts): PostmortemData {
  const measured = measureImpact(facts);
  const t = trigger(facts, measured.started_ms);
  const triggerMs = t?.ms ?? null;
  const detected = detection(facts, triggerMs);
  const found = findings({ facts, impact: measured.data, impactStartMs: measured.started_ms, trigger: t?.data ?? null, moments: detected.moments });
  const { incident } = facts;
  return {
    schema: POSTMORTEM_SCHEMA_ID,
    incident: {
      id: incident.id, title: incident.title, severity: incident.severity, status: incident.status, opened_by: incident.opened_by,
      opened_at: iso(incident.opened_at), resolved_at: incident.resolved_at !== null ? iso(incident.resolved_at) : null,
    },
    trigger: t?.data ?? null,
    impact: measured.data,
    detection: detected.data,
    response: response(facts, triggerMs),
    timeline: timeline(facts, measured),
    findings: found.map((f) => ({ code: f.code, text: f.text, source: f.source })),
    action_items: found.map((f) => ({ code: f.code, text: f.action, source: f.source })),
  };
}

/** The incident's day (UTC, YYYY-MM-DD): that of the change that started it, else of the errors or the opening. */
export function incidentDay(data: PostmortemData): string {
  return (data.trigger?.at ?? data.impact.started_at ?? data.incident.opened_at).slice(0, 10);
}
