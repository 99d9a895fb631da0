/**
 * The dashboard's pages and their paths. The server answers each path with the same index.html
 * (packages/server/src/routes/dashboard.ts, DASHBOARD_PATHS); this decides which page it shows.
 * A new page (fleet, artifacts, incidents, break-glass and audit) adds a Route kind, a line in
 * parseRoute, an entry in NAV and its path on the server.
 */
export type Route =
  | { readonly page: 'rollouts'; readonly filter: RolloutFilter }
  | { readonly page: 'rollout'; readonly id: string }
  | { readonly page: 'not-found'; readonly path: string };

/** The Rollouts page's filters, kept in the query string so that a filtered list can be linked. */
export interface RolloutFilter {
  /** An artifact's name, or '' for every artifact. */
  readonly artifact: string;
  /** `active` (running, paused, rolling back), a status, or '' for every state. */
  readonly state: string;
}

/** The header's links, in order. */
export const NAV: readonly { readonly label: string; readonly href: string; readonly page: Route['page'] }[] = [
  { label: 'Rollouts', href: '/rollouts', page: 'rollouts' },
];

/**
 * Examples
 *   parseRoute('/rollouts/r-0a1b2c3d4e', '') // { page: 'rollout', id: 'r-0a1b2c3d4e' }
 *   parseRoute('/', '?artifact=features')    // { page: 'rollouts', filter: { artifact: 'features', state: '' } }
 */
export function parseRoute(pathname: string, search: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/rollouts') {
    const q = new URLSearchParams(search);
    return { page: 'rollouts', filter: { artifact: q.get('artifact') ?? '', state: q.get('state') ?? '' } };
  }
  const one = /^\/rollouts\/([^/]+)$/.exec(path);
  if (one?.[1]) return { page: 'rollout', id: decodeURIComponent(one[1]) };
  return { page: 'not-found', path };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'rollouts': {
      const q = new URLSearchParams();
      if (route.filter.artifact) q.set('artifact', route.filter.artifact);
      if (route.filter.state) q.set('state', route.filter.state);
      const s = q.toString();
      return `/rollouts${s ? `?${s}` : ''}`;
    }
    case 'rollout':
      return `/rollouts/${encodeURIComponent(route.id)}`;
    case 'not-found':
      return route.path;
  }
}
