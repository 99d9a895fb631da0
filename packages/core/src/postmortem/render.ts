import type { PostmortemData } from './data.ts';
import { incidentDay, postmortemData } from './data.ts';
import type { PostmortemFacts } from './facts.ts';
import { failedByChange } from './excess.ts';
import { and, at, cell, count, iso, NOT_RECORDED, ofTotal, orNot, seconds, share, value } from './format.ts';
import { renderPublic } from './public.ts';
import { attributableLines, attributableSummary } from './render-excess.ts';

export type PostmortemAudience = 'internal' | 'public';

/**
 * A postmortem draft in Markdown, following the usual SRE template: summary, impact in
 * numbers, trigger and root cause, detection, response, a UTC timeline, prompts for what
 * went well, wrong and lucky, and action items from the findings. Every number comes from
 * `postmortemData(facts)`; a missing fact reads "not recorded". The `public` variant names
 * no node, artifact, module, rollout, gate, operator or version.
 *
 * Examples
 *   renderPostmortem(facts, { audience: 'internal' }); // '# Postmortem (draft): …'
 *   renderPostmortem(facts, { audience: 'public' });   // '# Incident report: …'
 */
export function renderPostmortem(facts: PostmortemFacts, opts: { readonly audience: PostmortemAudience }): string {
  const data = postmortemData(facts);
  const lines = opts.audience === 'public' ? renderPublic(facts, data) : renderInternal(facts, data);
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function renderInternal(facts: PostmortemFacts, data: PostmortemData): string[] {
  const day = incidentDay(data);
  const { incident } = data;
  return [
    `# Postmortem (draft): ${incident.title}`,
    '',
    '| | |',
    '|---|---|',
    `| Incident | \`${incident.id}\` |`,
    `| Date | ${day} (UTC) |`,
    `| Status | ${incident.status} (this draft needs review) |`,
    `| Severity | ${incident.severity} |`,
    `| Opened | ${at(incident.opened_at, day)}, by ${OPENED_BY[incident.opened_by]} |`,
    `| Resolved | ${incident.resolved_at === null ? 'not yet' : at(incident.resolved_at, day)} |`,
    '',
    '## Summary',
    '',
    summary(data, day),
    '',
    ...impactSection(data, day),
    ...causeSection(facts, data, day),
    ...detectionSection(data, day),
    ...responseSection(data, day),
    '## Timeline (UTC)',
    '',
    '| time | event | fact |',
    '|---|---|---|',
    ...data.timeline.map((e) => `| ${at(e.at, day).replace(/ UTC$/, '')} | ${cell(e.text)} | \`${e.source}\` |`),
    '',
    ...prompts(data, day),
    '## Action items',
    '',
    ...(data.action_items.length === 0
      ? ['No finding follows from the recorded facts; add the team\'s own.']
      : [
        '| # | action | because | fact |',
        '|---|---|---|---|',
        ...data.action_items.map((a, i) => `| ${i + 1} | ${cell(a.text)} | ${cell(data.findings[i]?.text ?? '')} | \`${a.source}\` |`),
      ]),
  ];
}

const OPENED_BY = { gate: 'a failed gate', alert: 'an alert', manual: 'a responder' } as const;

function summary(data: PostmortemData, day: string): string {
  const { trigger: t, impact: i, detection: d, response: r } = data;
  const parts: string[] = [];
  if (t === null) parts.push('The change that triggered it is not recorded.');
  else if (t.kind === 'rollout') parts.push(`Rollout \`${t.id}\` of ${t.artifact_kind ?? 'artifact'} \`${t.artifact}\` (\`${t.from_version ?? 'none'}\` → \`${t.to_version ?? ''}\`) started at ${at(t.at, day)}.`);
  else parts.push(`Change \`${t.id}\` (${t.summary ?? ''}) was made at ${at(t.at, day)}, outside a staged rollout.`);
  if (i.attributable !== null) parts.push(attributableSummary(i.attributable));
  else if (i.failed_requests === null || i.requests === null) parts.push('Its impact on requests is not recorded.');
  else {
    // No rollout's nodes to compare with: these are the window's failures, whatever their cause.
    const tiers = i.by_tier.filter((x) => x.failed_requests > 0).map((x) => x.tier);
    parts.push(`In the window, ${count(i.failed_requests)} of ${count(i.requests)} requests (${orNot(i.failed_share, share)}) failed over ${seconds(i.duration_s)}, on ${ofTotal(i.nodes_affected ?? 0, i.nodes_total, 'nodes')}${tiers.length > 0 ? `; ${i.label ?? 'tier'}: ${and(tiers)}` : ''}.`);
  }
  if (d.by === 'gate' && d.gate !== null) parts.push(`Gate \`${d.gate.gate}\` detected it ${seconds(d.time_to_detect_s)} after the change started.`);
  else if (d.by === 'alert' && d.first_alert !== null) parts.push(`Alert \`${d.first_alert.name}\` detected it ${seconds(d.time_to_detect_s)} after the change started.`);
  else parts.push('Its detection is not recorded.');
  if (r.mitigated_by !== null) parts.push(`It was mitigated by ${MITIGATED_BY[r.mitigated_by]} ${seconds(r.time_to_mitigate_s)} after the change started.`);
  else if (r.paused.length > 0) parts.push('It was paused, not reverted: its version stays on the nodes it reached, and no mitigation is recorded.');
  else parts.push('No mitigation is recorded.');
  return parts.join(' ');
}

const MITIGATED_BY = { rollback: 'an automatic rollback', abort: 'an operator\'s abort, which reverted it', breakglass: 'break-glass' } as const;

function impactSection(data: PostmortemData, day: string): string[] {
  const i = data.impact;
  const own = i.attributable !== null ? [...attributableLines(i.attributable, day), ''] : [];
  if (i.requests === null) return ['## Impact', '', ...own, `Traffic over the incident window: ${NOT_RECORDED}. Duration, failed requests, nodes and customers affected: ${NOT_RECORDED}.`, ''];
  const baseline = i.baseline_failed_share !== null ? `intervals above the pre-change failed share of ${share(i.baseline_failed_share)}` : `intervals with failed requests; pre-change baseline ${NOT_RECORDED}`;
  const duration = i.started_at === null ? 'no interval had failed requests above the baseline' : `${seconds(i.duration_s)}, ${at(i.started_at, day)} to ${at(i.ended_at, day)} (${baseline})`;
  return [
    '## Impact',
    '',
    ...(own.length > 0 ? [...own, 'Over the whole window, every node and any cause:', ''] : []),
    `- **Duration:** ${duration}`,
    `- **All failed requests:** ${count(i.failed_requests ?? 0)} of ${count(i.requests)} (${orNot(i.failed_share, share)})`,
    `- **Nodes with failed requests:** ${ofTotal(i.nodes_affected ?? 0, i.nodes_total)}`,
    `- **Customers with failed requests:** ${i.customers_affected === null ? NOT_RECORDED : ofTotal(i.customers_affected, i.customers_total)}`,
    '',
    `| ${i.label ?? 'tier'} | requests | failed | share | nodes with failed requests | customers with failed requests |`,
    '|---|---:|---:|---:|---:|---:|',
    ...i.by_tier.map((t) => `| ${cell(t.tier)} | ${count(t.requests)} | ${count(t.failed_requests)} | ${orNot(t.failed_share, share)} | ${ofTotal(t.nodes_affected, t.nodes_total)} | ${t.customers_affected === null ? NOT_RECORDED : ofTotal(t.customers_affected, t.customers_total)} |`),
    '',
    `Sums over the recorded intervals of ${seconds(i.interval_s)} from ${at(i.window_from, day)} to ${at(i.window_to, day)}.`,
    '',
  ];
}

function causeSection(facts: PostmortemFacts, data: PostmortemData, day: string): string[] {
  const t = data.trigger;
  const rollout = t?.kind === 'rollout' ? facts.rollouts.find((r) => r.id === t.id) : undefined;
  const lines = ['## Trigger and root cause', ''];
  if (t === null) lines.push(`- **Trigger:** ${NOT_RECORDED}.`);
  else if (t.kind === 'rollout') lines.push(`- **Trigger:** rollout \`${t.id}\` of \`${t.artifact}\` (${t.artifact_kind ?? `kind ${NOT_RECORDED}`}, module \`${t.module}\`), \`${t.from_version ?? 'none'}\` → \`${t.to_version}\`, started ${at(t.at, day)}.`);
  else lines.push(`- **Trigger:** change \`${t.id}\` at ${at(t.at, day)}: ${t.summary ?? ''} (not a failsmall rollout).`);
  if (rollout !== undefined) {
    const v = rollout.validation;
    lines.push(`- **Validation declared for \`${rollout.artifact}\`:** ${v === null ? NOT_RECORDED : v.length === 0 ? 'none' : v.join(', ')}.`);
  }
  for (const m of facts.modules) {
    const reason = m.reason !== null ? ` (reason: "${m.reason}")` : '';
    const loads = m.nodes_failed_load === null ? `failed loads ${NOT_RECORDED}` : `the new version failed to load on ${count(m.nodes_failed_load.length)} nodes`;
    lines.push(`- **Module \`${m.name}\`:** on_load_failure ${m.on_load_failure ?? NOT_RECORDED}${reason}; ${loads}.`);
  }
  if (data.detection.gate !== null) lines.push(`- **Gate evidence:** ${data.detection.gate.reason}`);
  const settled = data.response.triage[data.response.triage.length - 1];
  lines.push(`- **Triage settled on:** ${settled === undefined ? NOT_RECORDED : `${settled.class} (${share(settled.confidence)}) at ${at(settled.at, day)}`}.`);
  const others = facts.changes.filter((c) => c.id !== (t?.kind === 'change' ? t.id : undefined));
  lines.push(`- **Other changes recorded:** ${others.length === 0 ? 'none' : others.map((c) => `\`${c.id}\` at ${at(iso(c.at), day)}: ${c.summary}`).join('; ')}.`);
  lines.push('- **Root cause:** _to be written by the responders from the facts above: what in the change failed, and why nothing stopped it sooner._', '');
  return lines;
}

function detectionSection(data: PostmortemData, day: string): string[] {
  const d = data.detection;
  const lines = ['## Detection', ''];
  if (d.by === null) lines.push(`- **First signal:** ${NOT_RECORDED} (no failed gate and no alert).`);
  else {
    const what = d.by === 'gate' && d.gate !== null ? `gate \`${d.gate.gate}\` on stage \`${d.gate.stage}\`` : `alert \`${d.first_alert?.name ?? ''}\``;
    lines.push(`- **First signal:** ${what} at ${at(d.at, day)}, ${seconds(d.time_to_detect_s)} after the change started (time to detect).`);
  }
  const g = d.gate;
  if (g !== null) {
    const measured = g.value === null ? 'no data' : value(g.value);
    const baseline = g.baseline === null ? `baseline ${NOT_RECORDED}` : `baseline ${value(g.baseline)}`;
    lines.push(`- **Verdict:** \`${g.metric}\` = ${measured} (allowed: ${g.direction === 'max' ? 'at most' : 'at least'} ${value(g.threshold)}), ${count(g.samples)} samples from ${count(g.nodes)} of ${count(g.cohort_nodes)} cohort nodes over ${seconds(g.window_s)}, ${baseline}; ${seconds(g.after_stage_start_s)} after the stage started.`);
  }
  const a = d.first_alert;
  lines.push(`- **First alert:** ${a === null ? 'none recorded' : `\`${a.name}\` at ${at(a.at, day)} (${count(a.count)} received)`}.`, '');
  return lines;
}

function responseSection(data: PostmortemData, day: string): string[] {
  const r = data.response;
  const lines = ['## Response and recovery', ''];
  const [first, ...later] = r.triage;
  lines.push(first === undefined
    ? `- **Triage:** ${NOT_RECORDED}.`
    : `- **Triage:** first result at ${at(first.at, day)}, ${seconds(first.after_open_s)} after the incident opened: ${first.class} (${share(first.confidence)}), first action: ${first.first_action}`);
  for (const t of later) lines.push(`  - then at ${at(t.at, day)}: ${t.class} (${share(t.confidence)})`);
  if (r.rollbacks.length === 0 && r.paused.length === 0) lines.push('- **Rollback:** none recorded.');
  for (const b of r.rollbacks) {
    const reached = `the new version reached ${b.nodes === null ? `nodes ${NOT_RECORDED}` : ofTotal(b.nodes, b.fleet_nodes, 'nodes')} in stage \`${b.stage ?? NOT_RECORDED}\``;
    const done = b.completed_at === null ? 'not finished' : `done on every node at ${at(b.completed_at, day)}`;
    lines.push(b.cause === 'abort'
      ? `- **Aborted:** rollout \`${b.rollout}\` aborted by an operator at ${at(b.started_at, day)}, which reverted it (no gate rolled it back); ${done}; ${reached} for ${seconds(b.exposure_s)}.`
      : `- **Rollback:** rollout \`${b.rollout}\` rolled back automatically (${b.cause === 'inconclusive' ? 'a gate stayed inconclusive' : 'a gate failed'}) from ${at(b.started_at, day)}, ${done}; ${reached} for ${seconds(b.exposure_s)}.`);
  }
  for (const p of r.paused) {
    lines.push(`- **Paused:** rollout \`${p.rollout}\` paused at ${at(p.paused_at, day)} in stage \`${p.stage ?? NOT_RECORDED}\`, not reverted: the new version stays on ${p.nodes === null ? `nodes ${NOT_RECORDED}` : ofTotal(p.nodes, p.fleet_nodes, 'nodes')}.`);
  }
  if (r.breakglass.length === 0) lines.push('- **Break-glass:** none used.');
  for (const b of r.breakglass) {
    lines.push(`- **Break-glass:** ${b.operator} ran \`${b.action}\` on \`${b.target}\`${b.version !== null ? ` (version \`${b.version}\`)` : ''} at ${at(b.at, day)}, sent to ${count(b.nodes)} nodes, applied on ${orNot(b.nodes_applied, count)}.`);
  }
  lines.push(
    `- **Mitigated:** ${r.mitigated_at === null || r.mitigated_by === null ? NOT_RECORDED : `${at(r.mitigated_at, day)} by ${MITIGATED_BY[r.mitigated_by]}, ${seconds(r.time_to_mitigate_s)} after the change started (time to mitigate)`}.`,
    `- **Resolved:** ${r.resolved_at === null ? 'not yet' : `${at(r.resolved_at, day)}, ${seconds(r.time_to_resolve_s)} after the change started`}.`,
    '',
  );
  return lines;
}

/** What went well, wrong and lucky: questions for the responders, with the facts filled in. */
function prompts(data: PostmortemData, day: string): string[] {
  const { impact: i, detection: d, response: r } = data;
  const well: string[] = [];
  const wrong: string[] = [];
  const lucky: string[] = [];
  for (const b of r.rollbacks) {
    if (b.nodes !== null && b.exposure_s !== null) {
      const held = b.fleet_nodes !== null && b.fleet_nodes > 0 ? `${share(b.nodes / b.fleet_nodes)} of nodes (${count(b.nodes)} of ${count(b.fleet_nodes)})` : `${count(b.nodes)} nodes`;
      const by = b.cause === 'abort' ? ', until an operator aborted it' : '';
      well.push(`Stage \`${b.stage ?? ''}\` held the new version to ${held} for ${seconds(b.exposure_s)}${by}: confirm that no node outside that cohort received it.`);
    }
  }
  if (d.by === 'gate' && d.gate !== null) well.push(`Gate \`${d.gate.gate}\` failed ${seconds(d.time_to_detect_s)} after the change started, before ${d.first_alert === null ? 'any alert fired' : 'the first alert'}: confirm nobody had to notice it by hand.`);
  const first = r.triage[0];
  if (first !== undefined) well.push(`Triage ranked ${first.class} first ${seconds(first.after_open_s)} after the incident opened: did its first action point the responders at the right place?`);
  if (well.length === 0) well.push('Nothing in the recorded facts stands out; name what helped.');

  const a = i.attributable;
  const caused = failedByChange(a, i.failed_requests);
  if (a !== null && caused !== null && caused > 0) {
    wrong.push(`About ${count(caused)} requests failed because of the change, on ${ofTotal(a.nodes_reached, a.fleet_nodes, 'nodes')} that received it, over ${seconds(a.exposure_s)}: which of them could the design have saved?`);
  } else if (a === null && i.failed_requests !== null && i.failed_requests > 0) {
    wrong.push(`${count(i.failed_requests)} requests failed (${orNot(i.failed_share, share)}) on ${ofTotal(i.nodes_affected ?? 0, i.nodes_total, 'nodes')} over ${seconds(i.duration_s)}: which of them could the design have saved?`);
  }
  for (const p of r.paused) wrong.push(`Rollout \`${p.rollout}\` is paused, not reverted: its version still runs on ${p.nodes === null ? 'its nodes' : `${count(p.nodes)} nodes`}. Decide whether to abort or resume it.`);
  for (const f of data.findings) wrong.push(f.text);
  if (wrong.length === 0) wrong.push('Nothing in the recorded facts stands out; name what hurt.');

  const hit = i.by_tier.filter((t) => t.failed_requests > 0);
  const spared = i.by_tier.filter((t) => t.failed_requests === 0);
  if (hit.length > 0 && spared.length > 0) {
    lucky.push(`Only the ${and(hit.map((t) => t.tier))} tier${hit.length > 1 ? 's' : ''} saw failed requests; the ${and(spared.map((t) => t.tier))} tier${spared.length > 1 ? 's' : ''} did not: by the policy's scope, or by chance?`);
  }
  if (d.first_alert === null && d.by === 'gate') lucky.push('No alert fired: had the gate not failed, how long would it have taken someone to notice?');
  if (r.triage.length > 1 && first !== undefined && first.class !== r.triage[r.triage.length - 1]?.class) {
    lucky.push(`Triage first pointed at ${first.class}: had the responders acted on that, what would it have cost?`);
  }
  if (i.started_at !== null) lucky.push(`The errors began at ${at(i.started_at, day)}: was traffic at that hour typical, and what would the same change have done at the daily peak?`);
  lucky.push('Name anything else that limited the impact by chance rather than by design.');

  return [
    '## What went well',
    '',
    '_Prompts for the responders, with the facts filled in: confirm, correct or delete each._',
    '',
    ...well.map((x) => `- ${x}`),
    '',
    '## What went wrong',
    '',
    ...wrong.map((x) => `- ${x}`),
    '',
    '## Where we got lucky',
    '',
    ...lucky.map((x) => `- ${x}`),
    '',
  ];
}
