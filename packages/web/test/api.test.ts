/**
 * How the dashboard talks to the control plane, without a browser: the token from a login link's
 * fragment into session storage (and off the address bar), API errors as failures the page can
 * show, and the long-poll loop that keeps a page live.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Api } from '../src/api/client.ts';
import { ApiFailureError, failureOf } from '../src/api/failure.ts';
import { adoptToken, forgetToken, tokenFromFragment, type SessionHost } from '../src/api/session.ts';
import type { EventRecord } from '../src/api/types.ts';
import { follow } from '../src/live/follow.ts';
import { ev } from './fixtures.ts';

function fakeHost(hash: string): SessionHost & { stored: Map<string, string>; address: string[] } {
  const stored = new Map<string, string>();
  const address: string[] = [];
  return {
    stored, address,
    storage: { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => { stored.set(k, v); }, removeItem: (k) => { stored.delete(k); } },
    location: { hash, pathname: '/rollouts/r-1', search: '?x=1' },
    history: { replaceState: (_s, _t, url) => { address.push(String(url)); } },
  };
}

test('a login link\'s token goes from the fragment to session storage, and off the address bar', () => {
  assert.equal(tokenFromFragment('#token=fs_admin_abc'), 'fs_admin_abc');
  assert.equal(tokenFromFragment('#other=1'), null);
  assert.equal(tokenFromFragment(''), null);
  const host = fakeHost('#token=fs_viewer_xyz');
  assert.equal(adoptToken(host), 'fs_viewer_xyz');
  assert.equal(host.stored.get('failsmall.token'), 'fs_viewer_xyz');
  assert.deepEqual(host.address, ['/rollouts/r-1?x=1']);
  forgetToken(host);
  assert.equal(adoptToken(fakeHost('')), null);
  // No fragment: the stored token stays, and the address is left alone.
  const again = fakeHost('');
  again.stored.set('failsmall.token', 'fs_admin_kept');
  assert.equal(adoptToken(again), 'fs_admin_kept');
  assert.deepEqual(again.address, []);
});

test('API errors become failures with the API\'s code, message and hint; no answer is unreachable', async () => {
  assert.deepEqual(failureOf(401, { error: { code: 'UNAUTHENTICATED', message: 'unknown or revoked token', hint: 'check it' } }), { kind: 'unauthenticated', status: 401, code: 'UNAUTHENTICATED', message: 'unknown or revoked token', hint: 'check it' });
  assert.equal(failureOf(403, { error: { code: 'FORBIDDEN', message: 'a viewer token cannot do this' } }).kind, 'forbidden');
  assert.equal(failureOf(404, {}).kind, 'not-found');
  assert.deepEqual(failureOf(502, '<html>bad gateway</html>'), { kind: 'failed', status: 502, code: 'HTTP_502', message: 'the control plane answered HTTP 502', hint: null });

  const seen: { url: string; auth: string | null }[] = [];
  const api = new Api('fs_admin_t', async (url, init) => {
    seen.push({ url: String(url), auth: new Headers(init?.headers).get('authorization') });
    return new Response(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'rollout "r-x" not found' } }), { status: 404 });
  });
  await assert.rejects(api.get('/v1/rollouts/r-x'), (err: unknown) => err instanceof ApiFailureError && err.failure.kind === 'not-found' && err.failure.message === 'rollout "r-x" not found');
  assert.deepEqual(seen, [{ url: '/v1/rollouts/r-x', auth: 'Bearer fs_admin_t' }]);
  const down = new Api('t', async () => { throw new TypeError('fetch failed'); });
  await assert.rejects(down.get('/v1/rollouts'), (err: unknown) => err instanceof ApiFailureError && err.failure.kind === 'unreachable' && /fetch failed/.test(err.failure.message));
});

test('follow long-polls from the cursor, hands over each batch, retries while unreachable and stops when done or refused', async () => {
  const paths: string[] = [];
  const answers: (() => { events: EventRecord[] })[] = [
    () => ({ events: [ev(5, 'rollout.baking', {}), ev(6, 'gates.evaluated', {})] }),
    () => { throw new ApiFailureError({ kind: 'unreachable', status: null, code: 'UNREACHABLE', message: 'down', hint: null }); },
    () => ({ events: [] }),
    () => ({ events: [ev(9, 'rollout.rolled_back', {})] }),
  ];
  const batches: number[][] = [];
  const failures: (string | null)[] = [];
  let finished = false;
  await follow({
    api: { get: async <T>(path: string) => { paths.push(path); const next = answers.shift(); if (!next) throw new Error('polled past the end'); return next() as T; } },
    path: (after) => `/v1/rollouts/r-1/events?after=${after}&wait=20000`,
    after: 4, signal: new AbortController().signal, minGapMs: 0, retryMs: 0,
    onEvents: (events) => { batches.push(events.map((e) => e.seq)); if (events.some((e) => e.type === 'rollout.rolled_back')) finished = true; },
    onFailure: (f) => failures.push(f ? f.kind : null),
    done: () => finished,
  });
  assert.deepEqual(paths.map((p) => /after=(\d+)/.exec(p)?.[1]), ['4', '6', '6', '6']);
  assert.deepEqual(batches, [[5, 6], [9]]);
  assert.deepEqual(failures, ['unreachable', null]);

  const refused: (string | null)[] = [];
  let polls = 0;
  await follow({
    api: { get: async () => { polls++; throw new ApiFailureError(failureOf(401, { error: { code: 'UNAUTHENTICATED', message: 'revoked' } })); } },
    path: () => '/v1/events', after: 0, signal: new AbortController().signal, retryMs: 0, onEvents: () => {}, onFailure: (f) => refused.push(f?.kind ?? null),
  });
  assert.equal(polls, 1, 'a refused token is not retried');
  assert.deepEqual(refused, ['unauthenticated']);
});
