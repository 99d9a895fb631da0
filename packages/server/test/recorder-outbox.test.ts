import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { IncidentNotice } from '../src/incidents/notice.ts';
import { IncidentService } from '../src/incidents/service.ts';
import { openStore } from '../src/store/index.ts';
import { waitFor } from './fixtures.ts';

/**
 * The recorder's cursor and the notifier's outbox, wired as `serve` wires them (through the
 * IncidentService): the cursor moves past an event only once its notice is stored, so a crash
 * between the two makes the recorder read the event again instead of skipping it; and an
 * incident opened by an event read again is announced again (the outbox keeps one per id).
 */
test('the incident recorder moves its cursor only once the notices it sent are stored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-recorder-'));
  const store = await openStore({ engine: 'sqlite', path: join(dir, 'fs.db') });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  await store.appendEvents([{ type: 'rollout.rolling_back', at: 1000, rollout_id: 'r-1', payload: { cause: 'gate', stage: 'canary', verdict: { gate: 'error_rate', status: 'fail', reason: 'error_rate 0.3 > 0.001' } } }]);

  // First process: the notice is never stored (it crashes first).
  let stored: (() => void) | undefined;
  const first: IncidentNotice[] = [];
  const crashing = new IncidentService(store, {
    now: () => 2000,
    notify: (n) => { first.push(n); return new Promise<void>((resolve) => { stored = resolve; }); },
    outboxWaitMs: 600_000, // a test must not depend on a deadline: only the stored notice lets the cursor move
  });
  const tick = crashing.recorder.tick();
  await waitFor('the incident.opened notice', async () => stored !== undefined || undefined);
  assert.deepEqual(first.map((n) => n.kind), ['incident.opened']);
  assert.equal(await store.incidents.cursor('incident-recorder'), 0, 'the cursor waits while the notice is not stored');
  const [incident] = await store.incidents.list();
  assert.ok(incident, 'the incident itself is committed');

  // Second process, after the crash: it reads the event again and announces the same incident again.
  const second: IncidentNotice[] = [];
  const restarted = new IncidentService(store, { now: () => 3000, notify: (n) => { second.push(n); } });
  assert.equal(await restarted.recorder.tick(), 1);
  assert.deepEqual(second.map((n) => [n.kind, n.id]), [['incident.opened', `incident:${incident.id}`]], 'the same notice id: the outbox sends it once');
  assert.equal((await store.incidents.list()).length, 1, 'no second incident');
  assert.ok(await store.incidents.cursor('incident-recorder') >= 1);

  // A later event of the same rollout joins the incident without announcing it again.
  await store.appendEvents([{ type: 'rollout.paused', at: 4000, rollout_id: 'r-1', payload: { verdict: { gate: 'error_rate', status: 'fail', reason: 'again' } } }]);
  second.length = 0;
  await restarted.recorder.tick();
  assert.deepEqual(second.filter((n) => n.kind === 'incident.opened'), []);
  stored?.();
  await tick;
});
