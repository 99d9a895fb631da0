import { useSession } from '../app/session.tsx';
import type { Live } from '../live/useLive.ts';
import { FailurePanel } from './FailurePanel.tsx';
import { LiveNote } from './LiveNote.tsx';

/** A live page's top: its title, whether what it shows is current, and the failure when there is one. */
export function LiveHead({ title, live }: { title: string; live: Pick<Live<unknown>, 'mode' | 'failure'> }) {
  const { signOut } = useSession();
  return (
    <>
      <h1>{title}</h1>
      <LiveNote mode={live.mode} />
      {live.failure ? <FailurePanel failure={live.failure} onSignIn={() => signOut()} /> : null}
    </>
  );
}
