import type { AttributableData } from './excess.ts';
import { at, count, ofTotal, seconds, share } from './format.ts';

/** "−12 to 31": an interval of failed-request counts, rounded to whole requests. */
export function excessRange(a: AttributableData): string {
  return `${count(Math.round(a.excess_low ?? 0))} to ${count(Math.round(a.excess_high ?? 0))}`;
}

/** Where the background rate came from, in words. */
function background(a: AttributableData): string {
  if (a.baseline_failed_share === null) return 'not recorded';
  const where = a.baseline_source === 'other-nodes' ? `on the ${count(a.baseline_nodes ?? 0)} nodes that did not receive it, over the same time` : 'on the same nodes before the change';
  return `${share(a.baseline_failed_share)} ${where}`;
}

/**
 * The summary's sentences about what the change did where it ran: it names the version's
 * nodes (not the fleet), and blames it only for failures beyond the background rate.
 */
export function attributableSummary(a: AttributableData): string {
  const reached = `It reached ${ofTotal(a.nodes_reached, a.fleet_nodes, 'nodes')} for ${seconds(a.exposure_s)}.`;
  if (a.significant === null) {
    return `${reached} ${count(a.failed_requests)} of ${count(a.requests)} requests failed on them; the background error rate is not recorded, so how many of them the change caused is not known.`;
  }
  if (!a.significant) {
    return `${reached} The ${count(a.failed_requests)} requests that failed on them are the background rate (${count(Math.round(a.expected_failed ?? 0))} expected at ${share(a.baseline_failed_share ?? 0)}; excess ${excessRange(a)} at 95%): no failed requests are attributable to the change.`;
  }
  return `${reached} On them, ${count(Math.round(a.excess_failed ?? 0))} more requests failed than the background rate predicts (95% interval ${excessRange(a)}): ${count(a.failed_requests)} of ${count(a.requests)}, against ${count(Math.round(a.expected_failed ?? 0))} expected.`;
}

/** The Impact section's lines for the change's own nodes. */
export function attributableLines(a: AttributableData, day: string): string[] {
  const verdict = a.significant === null
    ? 'not known: no background rate recorded'
    : a.significant
      ? `**${count(Math.round(a.excess_failed ?? 0))}** (95% interval ${excessRange(a)})`
      : `none measurable: ${count(Math.round(a.excess_failed ?? 0))} (95% interval ${excessRange(a)}) is within the background rate`;
  return [
    `- **Nodes that received \`${a.version}\`:** ${ofTotal(a.nodes_reached, a.fleet_nodes)}, from ${at(a.from, day)} to ${at(a.to, day)} (${seconds(a.exposure_s)}; rollout ${a.status.replace('_', ' ')})`,
    `- **Failed requests on them:** ${count(a.failed_requests)} of ${count(a.requests)}`,
    `- **Expected at the background rate:** ${a.expected_failed === null ? 'not recorded' : count(Math.round(a.expected_failed))} (${background(a)})`,
    `- **Failed because of the change (excess):** ${verdict}`,
  ];
}
