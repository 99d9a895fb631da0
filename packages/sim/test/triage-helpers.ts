import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TriageInput } from '@failsmall/core';
import { parseTriageScenario, type TriageScenario } from '../src/index.ts';

/**
 * A small triage scenario's text: 20 minutes of a 100-node fleet with modules proxy and api,
 * no noise on the request rate; `head` adds top-level keys (dependencies:, schedule:…), and
 * `events` is the events list's YAML.
 */
export function tinyText(events: string, o: { label?: string; head?: string } = {}): string {
  return `name: tiny
label: ${o.label ?? '{ class: ddos }'}
duration: 20m
fleet: { nodes: 100 }
baseline: { noise: 0 }
modules: [proxy, api]
${o.head ?? ''}
events:
${events}
`;
}

/** `tinyText`, parsed; it must parse. */
export function tiny(events: string, o: { label?: string; head?: string } = {}): TriageScenario {
  const r = parseTriageScenario(tinyText(events, o), { file: 'tiny.yaml' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
  return r.value;
}

/**
 * A digest of a generated input over the families the scenario language had before issue 13
 * (everything but `request_mix`), with keys sorted, so that a refactor that only reorders
 * fields keeps the digest. Any new field on an old family (an `expected` series, a change's
 * `state`) changes it: old scenarios must not grow them.
 */
export function oldFamiliesHash(input: TriageInput): string {
  const { request_mix: _mix, ...old } = input;
  return createHash('sha256').update(canonical(old)).digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
