import type { Store } from '../store/types.ts';
import type { VendorPoll } from '../vendors/index.ts';

const state = (p: Pick<VendorPoll, 'reachable' | 'indicator'>) => (p.reachable ? (p.indicator ?? 'none') : 'unreachable');

/**
 * Stores a vendor's status poll for triage, and when the vendor's state changes (indicator, or
 * the page itself unreachable) while an incident is open, puts the change on its timeline.
 */
export async function recordVendorPoll(store: Store, p: VendorPoll): Promise<void> {
  const before = await store.incidents.lastVendorPoll(p.vendor);
  await store.incidents.addVendorPoll(p);
  if (before && state(before) === state(p)) return;
  const open = await store.incidents.current();
  if (!open) return;
  const what = p.reachable
    ? `status page of ${p.vendor}: ${p.indicator ?? 'none'}${p.components?.some((c) => c.status !== 'operational') ? ` (${p.components.filter((c) => c.status !== 'operational').map((c) => `${c.name} ${c.status}`).join(', ')})` : ''}`
    : `status page of ${p.vendor} unreachable${p.error ? `: ${p.error.message}` : ''}`;
  await store.incidents.addTimeline(open.id, [{ at: p.at_ms, kind: 'vendor', text: what, data: { ...p }, dedup: `vendor:${p.vendor}:${p.at_ms}` }]);
}
