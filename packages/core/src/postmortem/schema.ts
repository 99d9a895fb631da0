import { BREAKGLASS_ACTIONS } from '../breakglass/command.ts';
import { INCIDENT_STATUSES, SEVERITIES, TIMELINE_KINDS } from '../incident/types.ts';
import { FINDING_CODES } from './findings.ts';
import { POSTMORTEM_SCHEMA_ID } from './data.ts';

const ISO = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$' } as const;
const STRING = { type: 'string' } as const;
const NUMBER = { type: 'number' } as const;
const COUNT = { type: 'integer', minimum: 0 } as const;
const SHARE = { type: 'number', minimum: 0, maximum: 1 } as const;

function nullable(schema: Record<string, unknown>): Record<string, unknown> {
  return { anyOf: [schema, { type: 'null' }] };
}

function object(properties: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties };
}

function list(items: Record<string, unknown>): Record<string, unknown> {
  return { type: 'array', items };
}

const TRIGGER = object({
  kind: { enum: ['rollout', 'change'] },
  source: STRING,
  id: STRING,
  at: ISO,
  artifact: nullable(STRING),
  artifact_kind: nullable({ enum: ['code', 'config', 'feature-file'] }),
  module: nullable(STRING),
  from_version: nullable(STRING),
  to_version: nullable(STRING),
  summary: nullable(STRING),
});

const TIER = object({
  tier: STRING,
  requests: COUNT,
  failed_requests: COUNT,
  failed_share: nullable(SHARE),
  nodes_affected: COUNT,
  nodes_total: nullable(COUNT),
  customers_affected: nullable(COUNT),
  customers_total: nullable(COUNT),
});

const ATTRIBUTABLE = object({
  source: STRING,
  rollout: STRING,
  version: STRING,
  status: { enum: ['running', 'paused', 'rolling_back', 'completed', 'rolled_back', 'aborted'] },
  nodes_reached: COUNT,
  fleet_nodes: nullable(COUNT),
  from: ISO,
  to: ISO,
  exposure_s: NUMBER,
  requests: COUNT,
  failed_requests: COUNT,
  baseline_source: nullable({ enum: ['other-nodes', 'before-change'] }),
  baseline_nodes: nullable(COUNT),
  baseline_failed_share: nullable(SHARE),
  expected_failed: nullable(NUMBER),
  excess_failed: nullable(NUMBER),
  excess_low: nullable(NUMBER),
  excess_high: nullable(NUMBER),
  significant: nullable({ type: 'boolean' }),
});

const IMPACT = object({
  label: nullable(STRING),
  window_from: nullable(ISO),
  window_to: nullable(ISO),
  interval_s: nullable(NUMBER),
  started_at: nullable(ISO),
  ended_at: nullable(ISO),
  duration_s: nullable(NUMBER),
  requests: nullable(COUNT),
  failed_requests: nullable(COUNT),
  failed_share: nullable(SHARE),
  baseline_failed_share: nullable(SHARE),
  nodes_affected: nullable(COUNT),
  nodes_total: nullable(COUNT),
  customers_affected: nullable(COUNT),
  customers_total: nullable(COUNT),
  by_tier: list(TIER),
  attributable: nullable(ATTRIBUTABLE),
});

const GATE = object({
  source: STRING,
  rollout: STRING,
  stage: STRING,
  gate: STRING,
  module: STRING,
  metric: STRING,
  at: ISO,
  value: nullable(NUMBER),
  direction: { enum: ['min', 'max'] },
  threshold: NUMBER,
  baseline: nullable(NUMBER),
  samples: COUNT,
  nodes: COUNT,
  cohort_nodes: COUNT,
  window_s: NUMBER,
  reason: STRING,
  after_stage_start_s: nullable(NUMBER),
});

const DETECTION = object({
  at: nullable(ISO),
  by: nullable({ enum: ['gate', 'alert'] }),
  time_to_detect_s: nullable(NUMBER),
  gate: nullable(GATE),
  first_alert: nullable(object({ source: STRING, name: STRING, at: ISO, count: COUNT })),
});

const RESPONSE = object({
  triage: list(object({ source: STRING, at: ISO, class: STRING, confidence: SHARE, first_action: STRING, after_open_s: NUMBER })),
  time_to_triage_s: nullable(NUMBER),
  rollbacks: list(object({
    source: STRING, rollout: STRING, outcome: { enum: ['rolled_back', 'aborted', 'rolling_back'] }, cause: nullable({ enum: ['gate', 'inconclusive', 'abort'] }),
    stage: nullable(STRING), nodes: nullable(COUNT), fleet_nodes: nullable(COUNT),
    started_at: nullable(ISO), completed_at: nullable(ISO), exposure_s: nullable(NUMBER),
  })),
  paused: list(object({ source: STRING, rollout: STRING, stage: nullable(STRING), nodes: nullable(COUNT), fleet_nodes: nullable(COUNT), paused_at: ISO })),
  breakglass: list(object({
    source: STRING, at: ISO, operator: STRING, action: { enum: [...BREAKGLASS_ACTIONS] }, target: STRING,
    version: nullable(STRING), nodes: COUNT, nodes_applied: nullable(COUNT),
  })),
  mitigated_at: nullable(ISO),
  mitigated_by: nullable({ enum: ['rollback', 'abort', 'breakglass'] }),
  time_to_mitigate_s: nullable(NUMBER),
  resolved_at: nullable(ISO),
  time_to_resolve_s: nullable(NUMBER),
});

const ITEM = object({ code: { enum: [...FINDING_CODES] }, text: STRING, source: STRING });

/**
 * The JSON Schema (draft-07) of `postmortemData`'s output, the `--format json` export.
 * Objects are closed and every key is required: a missing fact is `null`, never an absent
 * key, so a consumer can tell "not recorded" from a field it does not know.
 *
 * Examples
 *   new Ajv().compile(POSTMORTEM_JSON_SCHEMA)(postmortemData(facts)); // true
 */
export const POSTMORTEM_JSON_SCHEMA: Readonly<Record<string, unknown>> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'failsmall postmortem export',
  ...object({
    schema: { const: POSTMORTEM_SCHEMA_ID },
    incident: object({
      id: STRING,
      title: STRING,
      severity: { enum: [...SEVERITIES] },
      status: { enum: [...INCIDENT_STATUSES] },
      opened_by: { enum: ['gate', 'alert', 'manual'] },
      opened_at: ISO,
      resolved_at: nullable(ISO),
    }),
    trigger: nullable(TRIGGER),
    impact: IMPACT,
    detection: DETECTION,
    response: RESPONSE,
    timeline: list(object({
      at: ISO,
      kind: { enum: [...TIMELINE_KINDS, 'impact'] },
      text: STRING,
      source: STRING,
    })),
    findings: list(ITEM),
    action_items: list(ITEM),
  }),
};
