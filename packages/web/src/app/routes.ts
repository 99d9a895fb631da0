import type { AuditFilter } from '../view/audit.ts';

/**
 * The dashboard's pages and their paths. The server answers each path with the same index.html
 * (packages/server/src/routes/dashboard.ts, DASHBOARD_PATHS); this decides which page it shows.
 * A new page adds a Route kind, a line in parseRoute, an entry in NAV and its path on the server.
 */
export type Route =
  | { readonly page: 'rollouts'; readonly filter: RolloutFilter }
  | { readonly page: 'rollout'; readonly id: string }
  | { readonly page: 'fleet'; readonly view: FleetView }
  | { readonly page: 'incidents' }
  | { readonly page: 'artifacts'; readonly artifact: string }
  | { readonly page: 'audit'; readonly filter: AuditFilter }
  | { readonly page: 'incident'; readonly id: string }
  | { readonly page: 'postmortem'; readonly id: string }
  | { readonly page: 'not-found'; readonly path: string };

export type { AuditFilter };

/** The Rollouts page's filters, kept in the query string so that a filtered list can be linked. */
export interface RolloutFilter {
  /** An artifact's name, or '' for every artifact. */
  readonly artifact: string;
  /** `active` (running, paused, rolling back), a status, or '' for every state. */
  readonly state: string;
  /** A page of older rollouts: those that started before this one ('' for the newest page). */
  readonly before: string;
}

/** The Fleet page's choices, in the query string too: an artifact ('' until one is chosen) and a label to group by ('' for one group). */
export interface FleetView {
  readonly artifact: string;
  readonly by: string;
}

/** The header's links, in order. */
export const NAV: readonly { readonly label: string; readonly href: string; readonly page: Route['page'] }[] = [
  { label: 'Rollouts', href: '/rollouts', page: 'rollouts' },
  { label: 'Fleet', href: '/fleet', page: 'fleet' },
  { label: 'Incidents', href: '/incidents', page: 'incidents' },
  { label: 'Artifacts', href: '/artifacts', page: 'artifacts' },
  { label: 'Break-glass and audit', href: '/audit', page: 'audit' },
];

/**
 * Examples
 *   parseRoute('/rollouts/r-0a1b2c3d4e', '') // { page: 'rollout', id: 'r-0a1b2c3d4e' }
 *   parseRoute('/', '?artifact=features')    // { page: 'rollouts', filter: { artifact: 'features', state: '', before: '' } }
 */
export function parseRoute(pathname: string, search: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/rollouts') {
    const q = new URLSearchParams(search);
    return { page: 'rollouts', filter: { artifact: q.get('artifact') ?? '', state: q.get('state') ?? '', before: q.get('before') ?? '' } };
  }
  if (path === '/fleet') {
    const q = new URLSearchParams(search);
    return { page: 'fleet', view: { artifact: q.get('artifact') ?? '', by: q.get('by') ?? '' } };
  }
  if (path === '/incidents') return { page: 'incidents' };
  if (path === '/artifacts') return { page: 'artifacts', artifact: new URLSearchParams(search).get('artifact') ?? '' };
  if (path === '/audit') {
    const q = new URLSearchParams(search);
    return { page: 'audit', filter: { type: q.get('type') ?? '', rollout: q.get('rollout') ?? '', node: q.get('node') ?? '' } };
  }
  const one = /^\/rollouts\/([^/]+)$/.exec(path);
  if (one?.[1]) return { page: 'rollout', id: decodeURIComponent(one[1]) };
  const incident = /^\/incidents\/([^/]+)(\/postmortem)?$/.exec(path);
  if (incident?.[1]) return { page: incident[2] ? 'postmortem' : 'incident', id: decodeURIComponent(incident[1]) };
  return { page: 'not-found', path };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'rollouts':
      return withQuery('/rollouts', { artifact: route.filter.artifact, state: route.filter.state, before: route.filter.before });
    case 'fleet':
      return withQuery('/fleet', { artifact: route.view.artifact, by: route.view.by });
    case 'rollout':
      return `/rollouts/${encodeURIComponent(route.id)}`;
    case 'incidents':
      return '/incidents';
    case 'artifacts':
      return withQuery('/artifacts', { artifact: route.artifact });
    case 'audit':
      return withQuery('/audit', { type: route.filter.type, rollout: route.filter.rollout, node: route.filter.node });
    case 'incident':
      return `/incidents/${encodeURIComponent(route.id)}`;
    case 'postmortem':
      return `/incidents/${encodeURIComponent(route.id)}/postmortem`;
    case 'not-found':
      return route.path;
  }
}

/** A path with the choices that are set, in a fixed order: `/fleet?artifact=features&by=region`. */
function withQuery(path: string, params: Readonly<Record<string, string>>): string {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '')).toString();
  return `${path}${q ? `?${q}` : ''}`;
}

/** The page's name, for the window's title. */
export function titleOf(route: Route): string {
  switch (route.page) {
    case 'rollouts': return 'Rollouts';
    case 'rollout': return `Rollout ${route.id}`;
    case 'fleet': return 'Fleet';
    case 'incidents': return 'Incidents';
    case 'artifacts': return 'Artifacts';
    case 'audit': return 'Break-glass and audit';
    case 'incident': return `Incident ${route.id}`;
    case 'postmortem': return `Postmortem of ${route.id}`;
    case 'not-found': return 'Not found';
  }
}
