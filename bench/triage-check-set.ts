/**
 * Checks a set of labelled triage scenarios WITHOUT running triage: does every file parse,
 * does it generate, which alerts fire and when, and do the signals move as the story says.
 * It exists for the held-out set (examples/triage-holdout), which must never be tuned to the
 * classifier: this script imports neither `triage` nor `evaluateTriageScenario`, and prints
 * nothing a verdict could be read from.
 *
 *   node --import tsx bench/triage-check-set.ts                          # examples/triage-holdout
 *   node --import tsx bench/triage-check-set.ts --dir examples/triage-holdout --only ddos-
 *   node --import tsx bench/triage-check-set.ts --json
 *
 * Per file: parse errors (file:line:col: message [CODE]); else the first alert and every
 * alert that fired (minutes from start), the request rate's extremes against its baseline,
 * the largest module error ratio, entropy and never-seen extremes, each dependency's worst
 * latency factor and error ratio, and the vendors' worst status indicator. Exit 1 when a
 * file does not parse, generates no alert, or is not named after its `name`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { generateTriageInput, loadTriageScenarios } from '@failsmall/sim';
import { argValue, hasFlag } from './lib.ts';

const dir = argValue('dir') || 'examples/triage-holdout';
const only = argValue('only');
const json = hasFlag('json');

interface Row {
  file: string;
  label: string;
  also: string[];
  name_ok: boolean;
  errors?: string[];
  alerts?: { name: string; at_min: number; labels: Record<string, string> }[];
  signals?: Record<string, string>;
}

const rawLabel = (text: string): { label: string; also: string[]; name: string | undefined } => {
  try {
    const doc = parseYaml(text) as { name?: string; label?: { class?: string; target?: string; also?: { class?: string; target?: string }[] } } | null;
    const l = doc?.label;
    const fmt = (x: { class?: string; target?: string } | undefined) => (x ? `${x.class ?? '?'}${x.target ? ` ${x.target}` : ''}` : '?');
    return { label: fmt(l), also: (l?.also ?? []).map(fmt), name: doc?.name };
  } catch {
    return { label: '?', also: [], name: undefined };
  }
};

const fmtRatio = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const rows: Row[] = [];
const files = new Set(readdirSync(dir).filter((f) => f.endsWith('.yaml') && (!only || f.includes(only))));

for (const { file, parsed } of loadTriageScenarios(dir)) {
  if (!files.has(basename(file))) continue;
  const raw = rawLabel(readFileSync(join(file), 'utf8'));
  const row: Row = { file: basename(file), label: raw.label, also: raw.also, name_ok: raw.name === basename(file).replace(/\.ya?ml$/, '') };
  if (!parsed.ok) {
    row.errors = parsed.errors.map((e) => `${basename(e.file ?? file)}:${e.line ?? ''}:${e.col ?? ''}: ${e.message} [${e.code}]`);
    rows.push(row);
    continue;
  }
  const s = parsed.value;
  const input = generateTriageInput(s);
  const start = s.start_ms;
  const min = (t: number) => Math.round(((t - start) / 60_000) * 10) / 10;
  row.alerts = (input.alerts ?? []).map((a) => ({ name: a.name, at_min: min(a.started_at_ms), labels: { ...(a.labels ?? {}) } }));
  const sig: Record<string, string> = {};
  const req = input.requests;
  if (req) {
    const v = req.samples.map((x) => x.value / req.baseline);
    sig.rate_x = `${fmtRatio(Math.min(...v))}..${fmtRatio(Math.max(...v))}`;
  }
  const mods = input.errors?.by_module ?? [];
  const worst = mods.map((m) => ({ m: m.module, r: Math.max(...m.samples.map((x) => (x.requests > 0 ? x.errors / x.requests : 0))) })).sort((a, b) => b.r - a.r)[0];
  if (worst) sig.max_err = `${worst.m} ${(worst.r * 100).toFixed(2)}% (base ${(s.baseline.error_ratio * 100).toFixed(3)}%)`;
  const ent = input.sources?.entropy_bits;
  if (ent) { const v = ent.samples.map((x) => x.value); sig.entropy = `${Math.min(...v).toFixed(1)}..${Math.max(...v).toFixed(1)} (base ${ent.baseline})`; }
  const ns = input.sources?.never_seen_share;
  if (ns) sig.never_seen_max = `${Math.max(...ns.samples.map((x) => x.value)).toFixed(2)} (base ${ns.baseline})`;
  for (const d of input.dependencies ?? []) {
    const lat = d.latency_ms;
    const er = d.error_ratio;
    if (!lat || !er) { sig[`dep:${d.name}`] = 'unmeasured'; continue; }
    const lx = Math.max(...lat.samples.map((x) => x.value)) / lat.baseline;
    const ex = Math.max(...er.samples.map((x) => x.value));
    if (lx >= 1.3 || ex >= 0.01) sig[`dep:${d.name}`] = `p99 x${fmtRatio(lx)}, err ${(ex * 100).toFixed(1)}%`;
  }
  const rank: Record<string, number> = { none: 0, maintenance: 0.5, minor: 1, major: 2, critical: 3 };
  for (const v of input.vendors ?? []) {
    let worstInd = 'none';
    let down = false;
    for (const p of v.polls) {
      if (!p.reachable) down = true;
      const ind = p.indicator ?? 'none';
      if ((rank[ind] ?? 0) > (rank[worstInd] ?? 0)) worstInd = ind;
    }
    if (worstInd !== 'none' || down) sig[`page:${v.vendor}`] = `${worstInd}${down ? ', unreachable' : ''}`;
  }
  row.signals = sig;
  rows.push(row);
}

let bad = 0;
if (json) {
  process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
} else {
  for (const r of rows) {
    const head = `${r.file}  [${r.label}${r.also.length ? ` + also ${r.also.join(', ')}` : ''}]${r.name_ok ? '' : '  NAME != FILE'}`;
    process.stdout.write(`${head}\n`);
    if (r.errors) { for (const e of r.errors) process.stdout.write(`    ${e}\n`); continue; }
    const al = r.alerts ?? [];
    process.stdout.write(`    alerts: ${al.length === 0 ? 'NONE' : al.map((a) => `${a.name}${a.labels.module ? `(${a.labels.module})` : a.labels.dependency ? `(${a.labels.dependency})` : ''}@${a.at_min}m`).join(', ')}\n`);
    process.stdout.write(`    ${Object.entries(r.signals ?? {}).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
  }
}
const counts: Record<string, number> = {};
for (const r of rows) {
  const c = r.label.split(' ')[0] ?? '?';
  counts[c] = (counts[c] ?? 0) + 1;
  if (r.errors || !r.name_ok || (r.alerts && r.alerts.length === 0)) bad++;
}
const twoCauses = rows.filter((r) => r.also.length > 0).length;
process.stderr.write(`${rows.length} files; ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}; with also: ${twoCauses}; not parsing: ${rows.filter((r) => r.errors).length}; problems: ${bad}\n`);
process.exit(bad > 0 ? 1 : 0);
