import type { ArtifactKind } from '../policy/types.ts';
import type { PostmortemData } from './data.ts';
import { incidentDay } from './data.ts';
import type { PostmortemFacts } from './facts.ts';
import { failedByChange } from './excess.ts';
import type { FindingCode } from './findings.ts';
import { and, at, count, iso, longDay, NOT_RECORDED, ofTotal, orNot, seconds, share } from './format.ts';
import { triggerRollout } from './response.ts';
import { ordered } from './timeline.ts';

/**
 * The public variant: the same numbers (durations, shares, counts, tiers), in neutral words.
 * It is built only from numbers, times, tiers and the fixed phrases below, never from a
 * recorded string, so no node, artifact, module, rollout, gate, operator, version, host or
 * URL can reach it.
 */
export function renderPublic(facts: PostmortemFacts, data: PostmortemData): string[] {
  const day = incidentDay(data);
  const failed = failedByChange(data.impact.attributable, data.impact.failed_requests);
  return [
    `# Incident report: ${failed !== null && failed > 0 ? 'errors on ' : ''}${longDay(day)}`,
    '',
    '_Draft for review before publication. Every number comes from recorded events and metrics._',
    '',
    `**Date:** ${longDay(day)} · **Status:** ${STATUS[data.incident.status]}`,
    '',
    '## Summary',
    '',
    summary(data, day),
    '',
    ...impact(data, day),
    '## What happened',
    '',
    ...whatHappened(facts, data).map((x) => `- ${x}`),
    '',
    '## Detection and response',
    '',
    ...response(facts, data, day).map((x) => `- ${x}`),
    '',
    '## Timeline (UTC)',
    '',
    '| time | event |',
    '|---|---|',
    ...publicTimeline(facts, data).map((e) => `| ${at(e.at, day).replace(/ UTC$/, '')} | ${e.text} |`),
    '',
    '## What we are doing',
    '',
    ...doing(data).map((x) => `- ${x}`),
  ];
}

const STATUS = { open: 'investigating', investigating: 'investigating', mitigated: 'mitigated', resolved: 'resolved' } as const;

const CHANGE: Readonly<Record<ArtifactKind | 'change' | 'unknown', string>> = {
  'config': 'a configuration change',
  'feature-file': 'a change to a data file used by one of our systems',
  'code': 'a software update',
  'change': 'a change to one of our internal systems',
  'unknown': 'a change',
};

const CAUSE: Readonly<Record<string, string>> = {
  'change-regression': 'a faulty change',
  'ddos': 'an attack (DDoS)',
  'internal-degradation': 'a problem in one of our internal systems',
  'third-party-failure': 'a problem at a third-party provider',
};

const BREAKGLASS: Readonly<Record<string, string>> = {
  'pin': 'pin a known-good version',
  'lkg': 'restore the last known-good version',
  'kill-switch': 'switch off the affected component',
  'unpin': 'lift an earlier emergency pin',
};

/** What we are doing, per finding: the public counterpart of an action item. */
const DOING: Readonly<Record<FindingCode, string>> = {
  'fail-closed-widened': 'We are changing the affected component to keep serving with its last known-good version when a new one fails to load, instead of failing requests.',
  'no-validation': 'We are adding validation so that a malformed version is rejected before it is used.',
  'unstaged-change': 'We will roll out changes of this kind in stages, with automated health checks at each stage.',
  'gates-missed': 'We are adding automated health checks that would have caught this problem during the rollout.',
  'alert-before-gate': 'We are making our automated health checks react faster than our alerting.',
  'gate-late': 'We are tightening our automated health checks so that they detect this kind of failure sooner.',
  'breakglass-needed': 'We are reviewing why an emergency procedure was needed, to make that recovery automatic.',
  'triage-slow': 'We are improving our tools for identifying the cause of an incident quickly.',
  'triage-wrong-first': 'We are improving our tools for telling a faulty change from other causes.',
  'nodes-unreported': 'We are improving how completely our servers report their health.',
};

function cause(cls: string): string {
  return CAUSE[cls] ?? 'a cause we are still investigating';
}

function changePhrase(data: PostmortemData): string {
  const t = data.trigger;
  return t === null ? CHANGE.unknown : t.kind === 'change' ? CHANGE.change : CHANGE[t.artifact_kind ?? 'unknown'];
}

function capital(s: string): string {
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}`;
}

function tiersHit(data: PostmortemData): string {
  const tiers = data.impact.by_tier.filter((t) => t.failed_requests > 0).map((t) => t.tier);
  if (tiers.length === 0) return '';
  return `, for customers on the ${and(tiers)} tier${tiers.length > 1 ? 's' : ''}`;
}

/** "1 of our 4 servers", "10 of our servers" when the fleet was not recorded. */
function ourServers(n: number, total: number | null): string {
  return total === null ? `${count(n)} of our servers` : `${count(n)} of our ${count(total)} servers`;
}

/** What the change did on the servers that received it, in neutral words; it is blamed only for failures beyond the usual rate. */
function attributableSummary(data: PostmortemData, day: string): string[] {
  const a = data.impact.attributable;
  if (a === null) return [];
  const reached = `${capital(changePhrase(data))} reached ${ourServers(a.nodes_reached, a.fleet_nodes)}`;
  if (a.significant === true) {
    return [
      `On ${longDay(day)}, from ${at(a.from, day)} to ${at(a.to, day)} (${seconds(a.exposure_s)}), ${changePhrase(data)} caused errors on some of our servers.`,
      `About ${count(Math.round(a.excess_failed ?? 0))} requests failed because of it (between ${count(Math.max(0, Math.round(a.excess_low ?? 0)))} and ${count(Math.round(a.excess_high ?? 0))}), on the ${ourServers(a.nodes_reached, a.fleet_nodes)} that received it.`,
    ];
  }
  if (a.significant === false) return [`On ${longDay(day)}, ${reached.charAt(0).toLowerCase()}${reached.slice(1)}. Error rates on those servers stayed at their usual level: we found no failed requests caused by it.`];
  return [`On ${longDay(day)}, ${reached.charAt(0).toLowerCase()}${reached.slice(1)}. How many requests failed because of it was ${NOT_RECORDED}.`];
}

function summary(data: PostmortemData, day: string): string {
  const i = data.impact;
  const d = data.detection;
  const r = data.response;
  const parts: string[] = attributableSummary(data, day);
  if (i.attributable === null) {
    const when = i.started_at !== null ? `, from ${at(i.started_at, day)} to ${at(i.ended_at, day)} (${seconds(i.duration_s)}),` : '';
    parts.push(`On ${longDay(day)}${when} ${changePhrase(data)} caused errors on some of our servers.`);
    if (i.failed_requests === null || i.requests === null) parts.push(`The number of failed requests was ${NOT_RECORDED}.`);
    else parts.push(`${count(i.failed_requests)} of ${count(i.requests)} requests (${orNot(i.failed_share, share)}) failed, on ${ofTotal(i.nodes_affected ?? 0, i.nodes_total, 'of our servers')}${tiersHit(data)}.`);
  }
  if (d.by === 'gate') parts.push(`Our automated health checks detected the problem ${seconds(d.time_to_detect_s)} after the change began.`);
  else if (d.by === 'alert') parts.push(`Our monitoring alerted our engineers ${seconds(d.time_to_detect_s)} after the change began.`);
  else parts.push(`How the problem was detected was ${NOT_RECORDED}.`);
  if (r.mitigated_by === 'rollback') parts.push(`The change was reverted automatically, ${seconds(r.time_to_mitigate_s)} after it began.`);
  else if (r.mitigated_by === 'abort') parts.push(`Our engineers stopped the change, which reverted it, ${seconds(r.time_to_mitigate_s)} after it began.`);
  else if (r.mitigated_by === 'breakglass') parts.push(`Our engineers restored service with an emergency procedure ${seconds(r.time_to_mitigate_s)} after the change began.`);
  else if (r.paused.length > 0) parts.push('The rollout of the change was paused; it was not reverted.');
  return parts.join(' ');
}

/** The Impact lines about the servers that received the change. */
function attributableImpact(data: PostmortemData, day: string): string[] {
  const a = data.impact.attributable;
  if (a === null) return [];
  const caused = a.significant === null ? NOT_RECORDED
    : a.significant ? `about ${count(Math.round(a.excess_failed ?? 0))} (between ${count(Math.max(0, Math.round(a.excess_low ?? 0)))} and ${count(Math.round(a.excess_high ?? 0))})`
      : 'none beyond the usual error rate of those servers';
  return [
    `- **Servers that received the change:** ${ofTotal(a.nodes_reached, a.fleet_nodes)}, from ${at(a.from, day)} to ${at(a.to, day)} (${seconds(a.exposure_s)})`,
    `- **Requests that failed because of the change:** ${caused}`,
    '',
    'Across all our servers over the same period, from every cause:',
    '',
  ];
}

function impact(data: PostmortemData, day: string): string[] {
  const i = data.impact;
  if (i.requests === null) return ['## Impact', '', ...attributableImpact(data, day), `Duration, failed requests and servers affected: ${NOT_RECORDED}.`, ''];
  return [
    '## Impact',
    '',
    ...attributableImpact(data, day),
    `- **Duration:** ${i.started_at === null ? 'no errors above normal levels were recorded' : `${seconds(i.duration_s)}, ${at(i.started_at, day)} to ${at(i.ended_at, day)}`}`,
    `- **Failed requests:** ${count(i.failed_requests ?? 0)} of ${count(i.requests)} (${orNot(i.failed_share, share)})`,
    `- **Servers with failed requests:** ${ofTotal(i.nodes_affected ?? 0, i.nodes_total)}`,
    `- **Customers affected:** ${i.customers_affected === null ? NOT_RECORDED : ofTotal(i.customers_affected, i.customers_total)}`,
    '',
    '| customer tier | requests | failed | share | servers with failed requests |',
    '|---|---:|---:|---:|---:|',
    ...i.by_tier.map((t) => `| ${t.tier} | ${count(t.requests)} | ${count(t.failed_requests)} | ${orNot(t.failed_share, share)} | ${ofTotal(t.nodes_affected, t.nodes_total)} |`),
    '',
  ];
}

function whatHappened(facts: PostmortemFacts, data: PostmortemData): string[] {
  const out: string[] = [];
  const r = triggerRollout(facts)?.rollout;
  const first = r?.stages[0];
  const widest = r?.stages[r.stages.length - 1];
  if (r !== undefined && first !== undefined && widest !== undefined) {
    const stopped = STOPPED[r.status] ?? 'it was stopped';
    const reach = r.stages.length === 1 ? `${stopped}, at that stage` : `it reached ${count(widest.nodes)} servers; then ${stopped}`;
    out.push(`${capital(changePhrase(data))} was rolled out in stages. Its first stage covered ${ofTotal(first.nodes, r.fleet_nodes, 'of our servers')}; ${reach}.`);
  } else if (data.trigger?.kind === 'change') out.push(`${capital(changePhrase(data))} was made outside our staged rollout process.`);
  else out.push(`The change that started the incident was ${NOT_RECORDED}.`);
  const codes = new Set(data.findings.map((f) => f.code));
  const loads = facts.modules.filter((m) => m.on_load_failure === 'fail-closed').reduce((n, m) => n + (m.nodes_failed_load?.length ?? 0), 0);
  if (codes.has('fail-closed-widened')) out.push(`The component that uses it is set to stop serving when a new version fails to load, rather than keep the previous one. On the ${count(loads)} servers where the new version failed to load, requests failed.`);
  if (codes.has('no-validation')) out.push('The new version was not checked for validity before it was used.');
  const triage = data.response.triage;
  const last = triage[triage.length - 1];
  if (triage[0] !== undefined && last !== undefined && triage[0].class !== last.class) {
    out.push(`Our initial assessment pointed to ${cause(triage[0].class)}; the cause was then identified as ${cause(last.class)}.`);
  } else if (last !== undefined) out.push(`Our engineers identified the cause as ${cause(last.class)}.`);
  return out;
}

/** How the rollout ended, in neutral words: a gate's rollback, an operator's abort and a pause are not the same thing. */
const STOPPED: Readonly<Record<string, string>> = {
  rolled_back: 'it was reverted automatically',
  rolling_back: 'it was being reverted automatically',
  aborted: 'our engineers stopped it and it was reverted',
  paused: 'it was paused, not reverted',
  completed: 'it reached every server it was meant for',
  running: 'it was still rolling out',
};

function response(facts: PostmortemFacts, data: PostmortemData, day: string): string[] {
  const d = data.detection;
  const out: string[] = [];
  if (d.gate !== null) out.push(`Automated health checks on the servers running the change detected the failure at ${at(d.gate.at, day)}, ${seconds(d.by === 'gate' ? d.time_to_detect_s : null)} after the change began.`);
  if (d.first_alert !== null) out.push(`Our monitoring alerted our engineers at ${at(d.first_alert.at, day)}.`);
  if (d.by === null) out.push(`How the problem was detected was ${NOT_RECORDED}.`);
  for (const b of data.response.rollbacks.filter((x) => x.completed_at !== null)) {
    out.push(b.outcome === 'aborted'
      ? `Our engineers stopped the change; it was reverted on every server that had received it by ${at(b.completed_at, day)}.`
      : `The change was reverted automatically on every server that had received it by ${at(b.completed_at, day)}.`);
  }
  for (const p of data.response.paused) out.push(`The rollout of the change was paused at ${at(p.paused_at, day)}${p.nodes !== null ? ` with ${count(p.nodes)} servers running it` : ''}; it was not reverted then.`);
  for (const b of facts.breakglass) {
    const applied = b.nodes_applied !== null ? ` (it took effect on ${count(b.nodes_applied.length)})` : '';
    out.push(`Engineers used an emergency procedure to ${BREAKGLASS[b.action] ?? 'recover'} on ${count(b.nodes.length)} servers${applied}.`);
  }
  const resolved = data.response.resolved_at;
  out.push(resolved !== null ? `The incident was resolved at ${at(resolved, day)}.` : 'The incident is not yet resolved.');
  return out;
}

/** The timeline from structured facts only, in neutral words (recorded entries are free text, so they stay internal). */
function publicTimeline(facts: PostmortemFacts, data: PostmortemData): { at: string; text: string }[] {
  const out: { at_ms: number; text: string }[] = [];
  const t = data.trigger;
  const r = triggerRollout(facts)?.rollout;
  if (t !== null) out.push({ at_ms: Date.parse(t.at), text: t.kind === 'rollout' ? `${capital(changePhrase(data))} began rolling out.` : `${capital(changePhrase(data))} was made.` });
  if (r !== undefined) {
    r.stages.slice(1).forEach((s) => out.push({ at_ms: s.started_at, text: `The change reached ${count(s.nodes)} servers.` }));
    if (r.failed_gate !== null) out.push({ at_ms: r.failed_gate.at, text: 'Automated health checks detected elevated errors.' });
    if (r.rollback_started_at !== null) out.push({ at_ms: r.rollback_started_at, text: r.rollback_cause === 'abort' ? 'Our engineers stopped the change; reverting it began.' : 'Automatic rollback of the change began.' });
    if (r.rolled_back_at !== null) out.push({ at_ms: r.rolled_back_at, text: 'The change was reverted on every server that had received it.' });
    if (r.aborted_at !== null) out.push({ at_ms: r.aborted_at, text: 'The change was reverted on every server that had received it.' });
    if (r.paused_at !== null) out.push({ at_ms: r.paused_at, text: 'The rollout of the change was paused.' });
  }
  if (data.impact.started_at !== null) out.push({ at_ms: Date.parse(data.impact.started_at), text: 'Errors began.' });
  if (data.impact.ended_at !== null) out.push({ at_ms: Date.parse(data.impact.ended_at), text: 'Error rates returned to normal.' });
  if (data.detection.first_alert !== null) out.push({ at_ms: Date.parse(data.detection.first_alert.at), text: 'Our monitoring alerted our engineers.' });
  out.push({ at_ms: facts.incident.opened_at, text: 'We opened an incident.' });
  let previous: string | null = null;
  for (const x of [...facts.triage].sort((a, b) => a.at - b.at)) {
    if (x.class === previous) continue;
    out.push({ at_ms: x.at, text: `${previous === null ? 'Initial assessment' : 'Assessment revised'}: ${cause(x.class)}.` });
    previous = x.class;
  }
  for (const b of facts.breakglass) out.push({ at_ms: b.at, text: `Engineers used an emergency procedure on ${count(b.nodes.length)} servers.` });
  if (facts.incident.resolved_at !== null) out.push({ at_ms: facts.incident.resolved_at, text: 'The incident was resolved.' });
  return ordered(out).map((e) => ({ at: iso(e.at_ms), text: e.text }));
}

function doing(data: PostmortemData): string[] {
  const out = [...new Set(data.findings.map((f) => DOING[f.code]))];
  return out.length > 0 ? out : ['We are reviewing this incident and will update this report with what we change.'];
}
