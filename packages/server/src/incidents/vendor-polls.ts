import type { Store } from '../store/types.ts';
import type { VendorPoll } from '../vendors/index.ts';
import type { IncidentGrouping } from './grouping.ts';

const state = (p: Pick<VendorPoll, 'reachable' | 'indicator'>) => (p.reachable ? (p.indicator ?? 'none') : 'unreachable');
/** A vendor is a dependency of the modules whose agents reported calling it this recently. */
const CALLERS_WITHIN_MS = 60 * 60_000;

/**
 * Stores a vendor's status poll for triage, and when the vendor's state changes (indicator, or
 * the page itself unreachable), puts the change on the timeline of a related open incident: one
 * that names the vendor as a dependency, or is about a module whose agents call the vendor
 * (`meter.dependency(name, ok, ms, { vendor })`). It never opens an incident.
 */
export async function recordVendorPoll(store: Store, grouping: IncidentGrouping, p: VendorPoll): Promise<void> {
  const before = await store.incidents.lastVendorPoll(p.vendor);
  await store.incidents.addVendorPoll(p);
  if (before && state(before) === state(p)) return;
  const prefix = `depv__${p.vendor}__`;
  const callers = await store.incidents.counterBuckets(p.at_ms - CALLERS_WITHIN_MS, p.at_ms, CALLERS_WITHIN_MS, [prefix]);
  const modules = [...new Set(callers.filter((b) => Object.keys(b.counters).length > 0).map((b) => b.module))];
  const what = p.reachable
    ? `status page of ${p.vendor}: ${p.indicator ?? 'none'}${p.components?.some((c) => c.status !== 'operational') ? ` (${p.components.filter((c) => c.status !== 'operational').map((c) => `${c.name} ${c.status}`).join(', ')})` : ''}`
    : `status page of ${p.vendor} unreachable${p.error ? `: ${p.error.message}` : ''}`;
  await grouping.place({ kind: 'vendor', at: p.at_ms, about: await grouping.subjectOf({ dependencies: [p.vendor], modules }) }, {
    joined: () => [{ at: p.at_ms, kind: 'vendor', text: what, data: { ...p }, dedup: `vendor:${p.vendor}:${p.at_ms}` }],
  });
}
