import { weighed, type ClassEvidence, type TriageContext } from './context.ts';
import { allHealthy, missingSeries, type DependencyReading } from './dependencies.ts';
import { clock } from './format.ts';
import type { Evidence, MissingSignal } from './hypothesis.ts';
import type { StatusPoll, VendorStatus } from './input.ts';
import { upTo } from './series.ts';
import { VENDOR_STATUS } from './weights.ts';

/** What a vendor's status page said at its worst since the lead window. */
interface PageReading {
  readonly worst: 'outage' | 'minor' | 'unreachable' | 'operational';
  readonly since_ms: number | null;
  readonly detail: string;
}

/**
 * The third-party-failure hypothesis: a vendor's API we call degraded, and what the
 * vendor's status page says. The page is weak evidence: it lags outages, and when it is
 * unreachable that is mostly news about the page (on 18 November a status page hosted
 * elsewhere went down at the same minute by coincidence).
 */
export function vendorEvidence(ctx: TriageContext, all: readonly DependencyReading[]): ClassEvidence {
  const apis = all.filter((r) => r.dependency.vendor !== undefined);
  const measured = apis.filter((r) => r.measured);
  const pages = ctx.input.vendors ?? [];
  const missing: MissingSignal[] = missingSeries(apis);
  if (measured.length === 0) missing.push({ signal: 'vendor_apis', sentence: 'no latency or error series for any vendor API' });
  if (pages.length === 0) missing.push({ signal: 'vendor_status', sentence: 'no vendor status page is polled' });

  const names = [...new Set([...apis.map((a) => a.dependency.vendor ?? ''), ...pages.map((p) => p.vendor)])].filter((v) => v !== '').sort();
  const scored = names.map((vendor) => vendorItems(ctx, vendor, apis.filter((a) => a.dependency.vendor === vendor), pages.find((p) => p.vendor === vendor)));
  const best = [...scored].sort((a, b) => b.score - a.score)[0];
  const reporting = scored.some((s) => s.page?.worst === 'outage' || s.page?.worst === 'minor');
  const degraded = measured.some((a) => a.degradation >= 0.1);
  const items: Evidence[] = [];
  if (!degraded && !reporting) {
    if (measured.length > 0) items.push(allHealthy(measured, 'every vendor API we call', pages.length > 0 ? ', and no status page reports an outage' : ''));
    else if (pages.length > 0) items.push({ signal: 'vendor_status', weight: VENDOR_STATUS.noneReported, value: null, sentence: 'no vendor status page reports an outage (pages lag outages, so this counts little)' });
  }
  if (!best || best.score <= 0) return { items: weighed(items), missing, first_action: 'check vendors we do not measure: every measured vendor is healthy' };
  const api = best.apis.find((a) => a.score > 0);
  const users = [...new Set(best.apis.flatMap((a) => (a.callers.length > 0 ? a.callers : a.dependency.used_by)))].sort();
  const why = [api ? `${api.dependency.name}: ${api.summary}` : undefined, best.page && best.page.worst !== 'operational' ? `status page: ${best.page.detail}` : undefined].filter((p) => p !== undefined);
  return {
    items: weighed([...items, ...best.items]), missing, target: { kind: 'vendor', id: best.vendor },
    first_action: api || best.page?.worst === 'outage' || best.page?.worst === 'minor'
      ? `switch ${users.length > 0 ? users.join(', ') : `what calls ${best.vendor}`} to ${users.length > 1 ? 'their' : 'its'} fallback and open a ticket with ${best.vendor} (${why.join('; ')})`
      : `check ${best.vendor} another way (${why.join('; ')}): a status page that does not answer says little about the service`,
  };
}

function vendorItems(ctx: TriageContext, vendor: string, apis: readonly DependencyReading[], page: VendorStatus | undefined) {
  const items: Evidence[] = [];
  const best = [...apis].sort((a, b) => b.score - a.score)[0];
  if (best) items.push(...best.items);
  const p = page ? readPage(page, ctx) : undefined;
  if (p) {
    const healthyApis = apis.some((a) => a.measured) && apis.every((a) => a.degradation < 0.1);
    if (p.worst === 'outage' || p.worst === 'minor') {
      items.push({ signal: 'vendor_status', weight: p.worst === 'outage' ? VENDOR_STATUS.outage : VENDOR_STATUS.minor, value: null, sentence: `${vendor}'s status page reports ${p.detail}` });
      if (healthyApis) items.push({ signal: 'vendor_apis', weight: VENDOR_STATUS.reportsButHealthy, value: null, sentence: `${vendor}'s status page reports an incident, but our calls to ${vendor} are healthy` });
    } else if (p.worst === 'unreachable') {
      items.push({ signal: 'vendor_status', weight: VENDOR_STATUS.unreachable, value: null,
        sentence: `${vendor}'s status page has not answered since ${p.since_ms !== null ? clock(p.since_ms) : 'the start'}: weak evidence alone, status pages fail for their own reasons` });
    }
  }
  const kept = weighed(items);
  return { vendor, apis, page: p, items: kept, score: kept.reduce((a, e) => a + e.weight, 0) };
}

function readPage(page: VendorStatus, ctx: TriageContext): PageReading | undefined {
  const polls = upTo(page.polls, ctx.now).filter((q) => q.at_ms >= ctx.from_ms);
  if (polls.length === 0) return undefined;
  const rank = (q: StatusPoll): number => (severity(q) === 'outage' ? 3 : severity(q) === 'minor' ? 2 : severity(q) === 'unreachable' ? 1 : 0);
  let worst = polls[0];
  for (const q of polls) if (worst === undefined || rank(q) > rank(worst)) worst = q;
  if (!worst) return undefined;
  const level = severity(worst);
  const since = polls.find((q) => severity(q) === level)?.at_ms ?? null;
  const bad = (worst.components ?? []).filter((c) => c.status !== 'operational').map((c) => `${c.name}: ${c.status.replace(/_/g, ' ')}`);
  const detail = level === 'unreachable' ? 'no answer' : `${worst.indicator ?? 'none'} indicator${bad.length > 0 ? ` (${bad.join(', ')})` : ''} since ${since !== null ? clock(since) : '?'}`;
  return { worst: level, since_ms: since, detail };
}

function severity(q: StatusPoll): PageReading['worst'] {
  if (!q.reachable) return 'unreachable';
  const comps = q.components ?? [];
  if (q.indicator === 'major' || q.indicator === 'critical' || comps.some((c) => c.status === 'major_outage' || c.status === 'partial_outage')) return 'outage';
  if (q.indicator === 'minor' || comps.some((c) => c.status === 'degraded_performance')) return 'minor';
  return 'operational';
}
