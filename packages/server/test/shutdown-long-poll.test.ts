/**
 * Stopping the server while long-polls are held (an open dashboard, `events --follow`) ends them
 * at once, and none reads the store after it is closed: a SIGTERM used to log an internal error
 * ("driver has already been destroyed") for each poll that woke after the store was gone.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { testServer } from './fixtures.ts';

test('a stopping server answers its held long-polls and logs no error for them', { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } }));
  const s = await testServer({ log });
  const polls = [
    `${s.url}/v1/events?type=nothing.&wait=30000`,
    `${s.url}/v1/events?type=nothing.&wait=30000&rollout=r-none`,
  ].map((url) => fetch(url, { headers: { authorization: `Bearer ${s.admin}` } }).then((r) => r.status, () => 'closed'));
  // Held: the server has them (each counts as a request in flight) before it is told to stop.
  await new Promise((r) => setTimeout(r, 300));
  await s.close();
  const ended = await Promise.all(polls);
  assert.ok(ended.every((e) => e === 200 || e === 'closed'), `each poll was answered or its connection closed: ${ended.join(', ')}`);
  // Past the 1 s re-check each poll would have made, had it still been waiting.
  await new Promise((r) => setTimeout(r, 1500));
  const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } }).filter((l) => l.level >= 50);
  assert.deepEqual(errors.map((e) => `${e.msg}: ${e.err?.message ?? ''}`), [], 'no internal error at shutdown');
  assert.ok(lines.some((l) => l.includes('server.stopped')), 'it stopped');
});
