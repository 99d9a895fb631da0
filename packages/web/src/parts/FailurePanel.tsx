import type { ApiFailure } from '../api/failure.ts';

const TITLES: Record<ApiFailure['kind'], string> = {
  unreachable: 'The control plane is not answering',
  unauthenticated: 'Your token was not accepted',
  forbidden: 'Your token may not do this',
  'not-found': 'Not found',
  failed: 'The control plane could not answer',
};

/** A failed call as the page shows it: what happened, the API's own message and hint, and what to do. */
export function FailurePanel({ failure, onSignIn }: { failure: ApiFailure; onSignIn?: () => void }) {
  return (
    <section className="failure" role="alert" aria-labelledby="failure-title">
      <h2 id="failure-title">{TITLES[failure.kind]}</h2>
      <p>{failure.message} <code>{failure.code}</code></p>
      {failure.hint ? <p className="hint">{failure.hint}</p> : null}
      {failure.kind === 'unauthenticated' && onSignIn ? <button type="button" onClick={onSignIn}>Sign in again</button> : null}
      {failure.kind === 'forbidden' && onSignIn ? <button type="button" onClick={onSignIn}>Sign in with another token</button> : null}
    </section>
  );
}
