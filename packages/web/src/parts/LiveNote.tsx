import type { Live } from '../live/useLive.ts';

const WORDS: Record<Live<unknown>['mode'], string> = { loading: 'loading…', live: 'live: updates as it happens', ended: 'finished: nothing more to follow', failing: 'reconnecting…' };

/** Whether what the page shows is current, in words (a screen reader hears the change). */
export function LiveNote({ mode }: { mode: Live<unknown>['mode'] }) {
  return <p className={`live live-${mode}`} role="status" aria-live="polite">{WORDS[mode]}</p>;
}
