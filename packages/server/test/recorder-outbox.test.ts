import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IncidentRecorder } from '../src/incidents/recorder.ts';
import { openStore } from '../src/store/index.ts';
import { waitFor } from './fixtures.ts';

/**
 * The recorder's cursor and the notifier's outbox: the cursor moves past an event only once its
 * notice is stored, so a crash between the two makes the recorder read the event again (and the
 * outbox, unique per event, send it once) instead of skipping it.
 */
test('the incident recorder moves its cursor only once the notices it sent are stored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-recorder-'));
  const store = await openStore({ engine: 'sqlite', path: join(dir, 'fs.db') });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  await store.appendEvents([{ type: 'rollout.rolled_back', at: 1000, rollout_id: 'r-1', payload: { reason: 'gate error_rate failed' } }]);
  let stored: (() => void) | undefined;
  const notices: string[] = [];
  const recorder = new IncidentRecorder(store, {
    now: () => 2000,
    notify: (n) => { notices.push(n.kind); return new Promise<void>((resolve) => { stored = resolve; }); },
    outboxWaitMs: 600_000, // a test must not depend on a deadline: only the stored notice lets the cursor move
  });
  const tick = recorder.tick();
  await waitFor('the rollback notice', async () => stored !== undefined || undefined);
  assert.deepEqual(notices, ['rollout.rolled_back']);
  assert.equal(await store.incidents.cursor('incident-recorder'), 0, 'the cursor waits while the notice is not stored');
  stored?.();
  assert.equal(await tick, 1);
  assert.ok(await store.incidents.cursor('incident-recorder') >= 1, 'the cursor moved once it was stored');
});
