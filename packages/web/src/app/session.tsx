import { createContext, useContext } from 'react';
import type { Api } from '../api/client.ts';
import type { Whoami } from '../api/types.ts';

/** What every page is handed: the API with the visitor's token, who that token is, and a way out. */
export interface Session {
  readonly api: Api;
  readonly me: Whoami;
  /** Forgets the token and shows the login form, with why. */
  readonly signOut: (why?: string) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}
