import { z } from 'zod';

/**
 * Statuspage's `status.indicator`: the page's overall state. `maintenance` is not in Atlassian's
 * documentation, but real pages send it during planned work (cloudsmith-io/cloudsmith-api#25);
 * triage reads it as planned work, not an outage.
 */
export type StatuspageIndicator = 'none' | 'minor' | 'major' | 'critical' | 'maintenance';
/** Statuspage's component statuses. */
export type ComponentStatus = 'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance';
/** An incident's impact; `maintenance` marks planned work. */
export type IncidentImpact = 'none' | 'minor' | 'major' | 'critical' | 'maintenance';

export interface StatuspageComponent {
  readonly name: string;
  readonly status: ComponentStatus;
  /** True for a group: its status summarises the components listed under it. */
  readonly group?: boolean;
}

export interface StatuspageIncident {
  readonly name: string;
  /** `investigating`, `identified`, `monitoring`, `resolved` or `postmortem`. */
  readonly status: string;
  readonly impact: IncidentImpact;
  /** ISO 8601, as the page sends it. */
  readonly created_at: string;
  readonly updated_at: string;
  readonly shortlink?: string;
}

/** What failsmall reads from a page's `/api/v2/summary.json`. */
export interface StatuspageSummary {
  readonly page: { readonly name: string; readonly url?: string; readonly updated_at?: string };
  readonly indicator: StatuspageIndicator;
  readonly description: string;
  /** Unresolved incidents only: that is all summary.json lists. */
  readonly components: readonly StatuspageComponent[];
  readonly incidents: readonly StatuspageIncident[];
}

export interface StatuspageError {
  readonly code: 'BAD_STATUSPAGE';
  readonly message: string;
  /** Where in the document, e.g. `components[3].status`; empty for the document itself. */
  readonly path: string;
}

export type StatuspageParse = { readonly ok: true; readonly value: StatuspageSummary } | { readonly ok: false; readonly error: StatuspageError };

// z.object drops the keys it does not name: real pages send many more (ids, positions,
// incident_updates, scheduled_maintenances…), and they change without notice.
const Component = z.object({
  name: z.string(),
  status: z.enum(['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance']),
  group: z.boolean().optional(),
});

const Incident = z.object({
  name: z.string(),
  status: z.string(),
  impact: z.enum(['none', 'minor', 'major', 'critical', 'maintenance']),
  created_at: z.string(),
  updated_at: z.string(),
  shortlink: z.string().nullish(),
});

const Summary = z.object({
  page: z.object({ name: z.string(), url: z.string().nullish(), updated_at: z.string().nullish() }),
  status: z.object({ indicator: z.enum(['none', 'minor', 'major', 'critical', 'maintenance']), description: z.string() }),
  components: z.array(Component),
  incidents: z.array(Incident),
});

/**
 * Parses an Atlassian Statuspage `/api/v2/summary.json` document (already JSON-decoded).
 * Fields failsmall does not use are ignored; a field it uses with the wrong type or an
 * unknown value is an error naming its path.
 *
 * Examples
 * ```ts
 * const r = parseStatuspageSummary(await (await fetch('https://www.githubstatus.com/api/v2/summary.json')).json());
 * if (r.ok) console.log(r.value.indicator, r.value.components.filter((c) => c.status !== 'operational'));
 * else console.log(`${r.error.path}: ${r.error.message}`);
 * ```
 */
export function parseStatuspageSummary(json: unknown): StatuspageParse {
  const parsed = Summary.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const path = first ? issuePath(first.path) : '';
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    return { ok: false, error: { code: 'BAD_STATUSPAGE', message: `not a Statuspage summary: ${path || 'the document'}: ${first?.message ?? 'invalid'}${more}`, path } };
  }
  const { page, status, components, incidents } = parsed.data;
  return {
    ok: true,
    value: {
      page: { name: page.name, ...(page.url ? { url: page.url } : {}), ...(page.updated_at ? { updated_at: page.updated_at } : {}) },
      indicator: status.indicator,
      description: status.description,
      components: components.map((c) => ({ name: c.name, status: c.status, ...(c.group !== undefined ? { group: c.group } : {}) })),
      incidents: incidents.map((i) => ({
        name: i.name, status: i.status, impact: i.impact, created_at: i.created_at, updated_at: i.updated_at,
        ...(i.shortlink ? { shortlink: i.shortlink } : {}),
      })),
    },
  };
}

/** `components[3].status`, the way the JSON would be navigated. */
function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}
