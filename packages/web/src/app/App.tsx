import { useCallback, useEffect, useMemo, useState } from 'react';
import { Api } from '../api/client.ts';
import { failureFrom, type ApiFailure } from '../api/failure.ts';
import { adoptToken, forgetToken, storeToken, type SessionHost } from '../api/session.ts';
import type { Whoami } from '../api/types.ts';
import { ArtifactsPage } from '../pages/ArtifactsPage.tsx';
import { AuditPage } from '../pages/AuditPage.tsx';
import { FleetPage } from '../pages/FleetPage.tsx';
import { IncidentPage } from '../pages/IncidentPage.tsx';
import { IncidentsPage } from '../pages/IncidentsPage.tsx';
import { PostmortemPage } from '../pages/PostmortemPage.tsx';
import { RolloutPage } from '../pages/RolloutPage.tsx';
import { RolloutsPage } from '../pages/RolloutsPage.tsx';
import { FailurePanel } from '../parts/FailurePanel.tsx';
import { Link } from '../parts/Link.tsx';
import { Login } from '../parts/Login.tsx';
import { NAV, parseRoute, titleOf, type Route } from './routes.ts';
import { SessionContext, type Session } from './session.tsx';

/** How long to wait before asking an unreachable control plane again. */
const RETRY_MS = 2000;

const host: SessionHost = { storage: window.sessionStorage, location: window.location, history: window.history };

/**
 * The shell: the header with the pages and who is signed in, then the page the path names. No
 * token: the login prompt, and nothing that acts. Each failure is shown where it happened, never
 * a blank screen.
 */
export function App() {
  const [token, setToken] = useState<string | null>(() => adoptToken(host));
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.pathname, window.location.search));
  const [me, setMe] = useState<Whoami | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [loginMessage, setLoginMessage] = useState<string | null>(null);

  useEffect(() => {
    const onPop = () => setRoute(parseRoute(window.location.pathname, window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const signOut = useCallback((why?: string) => {
    forgetToken(host);
    setToken(null);
    setMe(null);
    setLoginMessage(why ?? null);
  }, []);

  const api = useMemo(() => (token ? new Api(token) : null), [token]);
  useEffect(() => {
    if (!api) return;
    let live = true;
    let retry: ReturnType<typeof setTimeout> | undefined;
    setFailure(null);
    const ask = () => api.get<Whoami>('/v1/whoami').then((w) => { if (live) { setFailure(null); setMe(w); } }, (err: unknown) => {
      if (!live) return;
      const f = failureFrom(err);
      if (f.kind === 'unauthenticated') { signOut(`That token was not accepted: ${f.message}`); return; }
      setFailure(f);
      // A control plane that is restarting comes back: ask again, as the live pages do.
      if (f.kind === 'unreachable' || f.kind === 'failed') retry = setTimeout(() => void ask(), RETRY_MS);
    });
    void ask();
    return () => { live = false; clearTimeout(retry); };
  }, [api, signOut]);

  const session: Session | null = api && me ? { api, me, signOut } : null;
  const title = titleOf(route);
  useEffect(() => { document.title = `${title} · failsmall`; }, [title]);

  return (
    <>
      <a className="skip" href="#main">Skip to the page</a>
      <header className="top">
        <span className="brand">failsmall</span>
        <nav aria-label="Pages">
          <ul>{NAV.map((n) => {
            const here = route.page === n.page || (route.page === 'rollout' && n.page === 'rollouts') || ((route.page === 'incident' || route.page === 'postmortem') && n.page === 'incidents');
            return <li key={n.href}><Link href={n.href} className={here ? 'current' : ''} current={here}>{n.label}</Link></li>;
          })}</ul>
        </nav>
        {me ? <span className="who">{me.name} <span className="role">({me.role})</span> <button type="button" className="quiet" onClick={() => signOut()}>Sign out</button></span> : null}
      </header>
      <main id="main" tabIndex={-1}>
        {!token ? <Login message={loginMessage} onToken={(t) => { storeToken(host, t); setToken(t); }} />
          : failure ? <FailurePanel failure={failure} onSignIn={() => signOut()} />
          : !session ? <p role="status">Signing in…</p>
          : (
            <SessionContext.Provider value={session}>
              {route.page === 'rollouts' ? <RolloutsPage filter={route.filter} />
                : route.page === 'rollout' ? <RolloutPage key={route.id} id={route.id} />
                : route.page === 'fleet' ? <FleetPage view={route.view} />
                : route.page === 'incidents' ? <IncidentsPage />
                : route.page === 'artifacts' ? <ArtifactsPage artifact={route.artifact} />
                : route.page === 'audit' ? <AuditPage filter={route.filter} />
                : route.page === 'incident' ? <IncidentPage key={route.id} id={route.id} />
                : route.page === 'postmortem' ? <PostmortemPage key={route.id} id={route.id} />
                : <FailurePanel failure={{ kind: 'not-found', status: 404, code: 'NO_PAGE', message: `the dashboard has no page ${route.path}`, hint: 'the Rollouts page lists every rollout' }} />}
            </SessionContext.Provider>
          )}
      </main>
    </>
  );
}
