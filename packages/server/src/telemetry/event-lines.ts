import type { RolloutEvent, Verdict } from '@failsmall/core';

/** What the lines are written to: a pino logger, or a test's recorder. */
export interface LineLog {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** One log line for a committed event: its level, its message and its fields. */
export interface EventLine {
  readonly level: 'debug' | 'info' | 'warn';
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Events that happen once per node or per check, not once per change an operator follows: at
 * info they would be thousands of lines per rollout on a large fleet.
 */
const PER_NODE_OR_CHECK = new Set(['node.load_reported', 'node.updated', 'node.pins_changed', 'node.signal_problems_changed', 'rollout.bake_extended', 'gates.evaluated']);

/** Changes that need someone's attention. */
const WARNINGS = new Set(['rollout.paused', 'rollout.rolling_back', 'rollout.rolled_back', 'rollout.aborted', 'breakglass.command', 'breakglass.report_rejected', 'rollout.dependency_gate_overridden', 'ingest.rejected', 'ingest.rejected_summary']);

/**
 * The log line of one committed event: the message is the event type in words
 * (`rollout.rolled_back` → "rollout rolled back"), the fields are its scalar payload fields, so
 * a line stays one short line whatever the payload holds.
 *
 * Examples
 * ```ts
 * eventLine({ type: 'rollout.promoted', at: 1, rollout_id: 'r1', payload: { from_stage: 'canary', to_stage: 'global' } })
 * // { level: 'info', msg: 'rollout promoted', fields: { event: 'rollout.promoted', rollout: 'r1', from_stage: 'canary', to_stage: 'global' } }
 * ```
 */
export function eventLine(e: RolloutEvent): EventLine {
  const fields: Record<string, unknown> = { event: e.type };
  if (e.rollout_id !== null) fields.rollout = e.rollout_id;
  for (const [k, v] of Object.entries(e.payload)) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  }
  const verdict = e.payload.verdict;
  if (isVerdict(verdict) && verdict.reason !== fields.reason) fields.verdict = verdict.reason;
  const level = PER_NODE_OR_CHECK.has(e.type) ? 'debug' : WARNINGS.has(e.type) ? 'warn' : 'info';
  return { level, msg: e.type.replace(/[._]/g, ' '), fields };
}

/**
 * The gates whose verdict changed since the last evaluation of the same rollout: a gate that
 * passes every second for an hour is one line when it starts passing, not 3 600.
 */
export class VerdictChanges {
  readonly #last = new Map<string, string>();

  /** The log lines of `gates.evaluated` events whose gate verdicts changed; other events give none. */
  lines(e: RolloutEvent): EventLine[] {
    if (e.type !== 'gates.evaluated' || e.rollout_id === null) return [];
    const out: EventLine[] = [];
    for (const v of verdictsOf(e)) {
      const key = `${e.rollout_id}\u0000${v.gate}`;
      if (this.#last.get(key) === v.status) continue;
      this.#last.set(key, v.status);
      out.push({ level: v.status === 'fail' ? 'warn' : 'info', msg: `gate ${v.status}`, fields: { event: 'gate.verdict_changed', rollout: e.rollout_id, stage: v.stage, gate: v.gate, outcome: v.status, reason: v.reason } });
    }
    return out;
  }

  /** Forgets a finished rollout's gates. */
  forget(rolloutId: string): void {
    for (const key of this.#last.keys()) if (key.startsWith(`${rolloutId}\u0000`)) this.#last.delete(key);
  }
}

/** The verdicts a `gates.evaluated` event carries. */
export function verdictsOf(e: RolloutEvent): Verdict[] {
  const vs = e.payload.verdicts;
  return Array.isArray(vs) ? vs.filter(isVerdict) : [];
}

function isVerdict(v: unknown): v is Verdict {
  return typeof v === 'object' && v !== null && typeof (v as Verdict).gate === 'string' && typeof (v as Verdict).status === 'string' && typeof (v as Verdict).reason === 'string';
}

/** Logs the state changes among one transaction's committed events, one line each. */
export function logCommitted(log: LineLog, verdicts: VerdictChanges, events: readonly RolloutEvent[]): void {
  for (const e of events) {
    const line = eventLine(e);
    log[line.level](line.fields, line.msg);
    for (const changed of verdicts.lines(e)) log[changed.level](changed.fields, changed.msg);
    if (e.rollout_id !== null && TERMINAL.has(e.type)) verdicts.forget(e.rollout_id);
  }
}

const TERMINAL = new Set(['rollout.completed', 'rollout.rolled_back', 'rollout.aborted']);
