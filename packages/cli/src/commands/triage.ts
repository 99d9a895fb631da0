import { readFile } from 'node:fs/promises';
import { formatError, parseDuration, renderTriage, triage, type FailsmallError, type Triage } from '@failsmall/core';
import { evaluateTriageScenario, generateTriageInput, parseTriageScenario, type TriageRun, type TriageScenario } from '@failsmall/sim';
import type { Out } from '../output.ts';
import { clientFrom } from './common.ts';

/** `triage --scenario` is also a check a CI job can run on a labelled scenario, so its exit codes say that. */
export const TRIAGE_EXIT = {
  /** The verdict matches the scenario's label. */
  CORRECT: 0,
  /** It does not. */
  WRONG: 1,
  /** Bad input: an unreadable or invalid scenario, a bad flag, or an incident id (not stored yet). */
  BAD_INPUT: 2,
} as const;

export interface TriageOptions {
  readonly scenario?: string;
  /** For an incident: the control plane and an admin token. */
  readonly server?: string;
  readonly token?: string;
  readonly seed?: string;
  /** Triage at this time after the scenario start (a duration) instead of at its end. */
  readonly at?: string;
}

/**
 * `failsmall triage --scenario FILE [--json] [--seed N] [--at 25m]`: generates the scenario's
 * signals in virtual time, replays triage from the first alert, and prints the ranked
 * hypotheses at the end (or at --at) with the label, the verdict and the time it took to be
 * right. `failsmall triage INCIDENT` needs incidents stored by the server, which is not built
 * yet: it says so and exits 2.
 */
export async function triageCommand(incident: string | undefined, opts: TriageOptions, out: Out): Promise<number> {
  if (opts.scenario === undefined) {
    if (incident === undefined) return bad(out, [{ code: 'BAD_FLAG', message: 'give an incident id, or --scenario FILE', hint: 'failsmall incident list shows the incidents; examples/triage/*.yaml are scenarios' }]);
    return triageIncident(incident, opts, out);
  }
  if (incident !== undefined) return bad(out, [{ code: 'BAD_FLAG', message: `give an incident id or --scenario, not both (got "${incident}" and --scenario ${opts.scenario})` }]);
  const file = opts.scenario;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err && err.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE';
    return bad(out, [{ code, message: `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, file, hint: 'give the path of a triage scenario, e.g. examples/triage/nov18-replay.yaml' }]);
  }
  const parsed = parseTriageScenario(text, { file });
  if (!parsed.ok) return bad(out, parsed.errors, file);
  const s = parsed.value;
  const seed = opts.seed !== undefined ? wholeNumber(opts.seed) : undefined;
  if (seed === null) return bad(out, [{ code: 'BAD_FLAG', message: `--seed must be a whole number, got "${opts.seed}"`, hint: 'e.g. --seed 42' }]);
  const at = opts.at !== undefined ? parseDuration(opts.at) : undefined;
  if (at && (!at.ok || at.ms > s.duration_ms)) {
    return bad(out, [{ code: 'BAD_FLAG', message: `--at must be a duration within the scenario (${s.duration_ms / 60_000} min), got "${opts.at}"`, hint: 'e.g. --at 25m' }]);
  }
  const input = generateTriageInput(s, seed !== undefined ? { seed } : {});
  const run = evaluateTriageScenario(s, { input });
  const shown = at?.ok ? triage(input, s.start_ms + at.ms) : run.final;
  out.data({
    ok: true, file, scenario: s.name, seed: seed ?? s.seed, label: s.label, correct: run.correct, seconds_to_correct: run.seconds_to_correct,
    first_alert_ms: run.first_alert_ms, timeline: verdictChanges(run), triage: shown,
  });
  if (!out.json) {
    process.stdout.write(renderTriage(shown));
    out.line('');
    out.line(verdictLine(s, run));
  }
  return run.correct ? TRIAGE_EXIT.CORRECT : TRIAGE_EXIT.WRONG;
}

/** One line: the label, whether the final verdict matches it, and how soon it did after the first alert. */
function verdictLine(s: TriageScenario, run: TriageRun): string {
  // Two causes at once: either answer is correct.
  const label = [s.label, ...s.label.also].map((x) => `${x.class}${x.target !== null ? ` (${x.target})` : ''}`).join(' or ');
  const top = run.final.hypotheses[0];
  if (run.first_alert_ms === null) return `label ${label}: no alert fired, so no time to a verdict; final top hypothesis ${top?.class ?? 'none'}`;
  if (!run.correct) return `label ${label}: WRONG, the final top hypothesis is ${top?.class ?? 'none'}${top?.target ? ` (${top.target.id})` : ''}`;
  return `label ${label}: correct, and stayed correct from ${run.seconds_to_correct ?? 0} s after the first alert`;
}

/** The steps at which the top hypothesis changed, for --json. */
function verdictChanges(run: TriageRun): { at_ms: number; class: string; target: string | null; confidence: number; correct: boolean }[] {
  const out: { at_ms: number; class: string; target: string | null; confidence: number; correct: boolean }[] = [];
  for (const s of run.steps) {
    const last = out[out.length - 1];
    if (!last || last.class !== s.class || last.target !== s.target) out.push({ at_ms: s.at_ms, class: s.class, target: s.target, confidence: s.confidence, correct: s.correct });
  }
  return out;
}

function wholeNumber(text: string): number | null {
  return /^\d+$/.test(text.trim()) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
}

function bad(out: Out, errors: readonly FailsmallError[], file?: string): number {
  out.data({ ok: false, ...(file !== undefined ? { file } : {}), errors });
  if (!out.json) for (const e of errors) process.stderr.write(`${formatError(e)}\n`);
  return TRIAGE_EXIT.BAD_INPUT;
}

/**
 * `failsmall triage INCIDENT`: the control plane triages the incident now, from what it recorded
 * (the result also goes on the incident's timeline). Exit 0, or the API error's exit code.
 */
async function triageIncident(id: string, opts: TriageOptions, out: Out): Promise<number> {
  const client = clientFrom({ ...(opts.server ? { server: opts.server } : {}), ...(opts.token ? { token: opts.token } : {}) });
  const res = await client.post<{ incident: { id: string; title: string }; triage: Triage }>(`/v1/incidents/${encodeURIComponent(id)}/triage`, {});
  out.data({ ok: true, incident: res.incident, triage: res.triage });
  out.line(`${res.incident.id}: ${res.incident.title}`);
  out.line(renderTriage(res.triage, { evidence: true }));
  return TRIAGE_EXIT.CORRECT;
}
