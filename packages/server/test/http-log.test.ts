import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { call, testServer } from './fixtures.ts';

interface Line { level: number; msg: string; component?: string; event?: string; err?: { message?: string; stack?: string } }

test('the HTTP layer logs no request, however many, and logs a 500 with its error', async (t) => {
  const lines: Line[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => { lines.push(JSON.parse(l) as Line); } });
  const s = await testServer({ log });
  t.after(() => s.cleanup());
  assert.equal(lines.filter((l) => l.event === 'server.started').length, 1, 'the start line');

  for (let i = 0; i < 20; i++) {
    assert.equal((await call(s.url, 'GET', '/healthz')).status, 200);
    assert.equal((await call(s.url, 'GET', '/metrics')).status, 200);
  }
  assert.equal((await call(s.url, 'GET', '/v1/rollouts/nope', { token: s.admin })).status, 404);
  assert.equal((await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: '' } })).status, 400);
  assert.deepEqual(lines.filter((l) => l.component === 'http'), [], 'no line for 42 requests, 4xx included');

  // A store that has gone away makes the next read a 500: that one is logged, with its error.
  await s.store.close();
  assert.equal((await call(s.url, 'GET', '/v1/rollouts', { token: s.admin })).status, 500);
  const errors = lines.filter((l) => l.component === 'http');
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0]?.level, 50);
  assert.equal(errors[0]?.msg, 'internal error');
  assert.match(errors[0]?.err?.stack ?? '', /\n\s+at /, 'with the stack, for the bug report');
});
