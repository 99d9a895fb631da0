/**
 * Postmortem drafts: pure functions from the recorded facts of an incident (PostmortemFacts,
 * filled by the server from its store) to a JSON export and a Markdown draft, internal or
 * public. Every number is computed from the facts; a missing fact reads "not recorded"
 * (docs/postmortem.md).
 */
export type * from './facts.ts';
export type { PostmortemData } from './data.ts';
export type { ImpactData, TierImpact } from './impact.ts';
export type { BreakglassData, DetectionData, GateData, PauseData, ResponseData, RollbackData, TriageData, TriggerData } from './response.ts';
export type { AttributableData } from './excess.ts';
export type { PostmortemTimelineKind, TimelineItem } from './timeline.ts';
export type { Finding, FindingCode } from './findings.ts';
export type { PostmortemAudience } from './render.ts';
export { postmortemData, POSTMORTEM_SCHEMA_ID } from './data.ts';
export { measureExcess, Z95 } from './excess.ts';
export { revertedAt, rolloutFacts } from './rollout-facts.ts';
export type { RolloutFactsExtra } from './rollout-facts.ts';
export { FINDING_CODES, LATE_GATE_INTERVALS, SLOW_TRIAGE_MS } from './findings.ts';
export { NOT_RECORDED } from './format.ts';
export { renderPostmortem } from './render.ts';
export { POSTMORTEM_JSON_SCHEMA } from './schema.ts';
