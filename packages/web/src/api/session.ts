/**
 * The visitor's token: in session storage (gone when the tab closes), never in a URL the server
 * sees. A login link carries it in the fragment (`/#token=…`), which browsers do not send; the
 * page takes it from there, stores it, and removes it from the address bar and history.
 */
const KEY = 'failsmall.token';

/** The token in a login link's fragment, or null. */
export function tokenFromFragment(hash: string): string | null {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const token = params.get('token')?.trim();
  return token ? token : null;
}

/** What the page needs of the browser: injected, so the logic runs in tests without one. */
export interface SessionHost {
  readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  readonly location: Pick<Location, 'hash' | 'pathname' | 'search'>;
  readonly history: Pick<History, 'replaceState'>;
}

/** Takes a token from the fragment into storage, and the fragment off the address bar; the stored token. */
export function adoptToken(host: SessionHost): string | null {
  const fromLink = tokenFromFragment(host.location.hash);
  if (fromLink) {
    host.storage.setItem(KEY, fromLink);
    host.history.replaceState(null, '', `${host.location.pathname}${host.location.search}`);
  }
  return host.storage.getItem(KEY);
}

export function storeToken(host: Pick<SessionHost, 'storage'>, token: string): void {
  host.storage.setItem(KEY, token);
}

export function forgetToken(host: Pick<SessionHost, 'storage'>): void {
  host.storage.removeItem(KEY);
}
