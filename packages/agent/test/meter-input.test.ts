/**
 * A counter the control plane would refuse is refused at the call that made it: pushed, it would
 * have cost the whole push (every module's requests and loads), not only itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeterError, ModuleMeter } from '@failsmall/agent';

test('count() refuses a bad name or amount with a MeterError and changes nothing', () => {
  const m = new ModuleMeter();
  m.count('cache_hits', 3);
  for (const [name, by, code] of [
    ['cache-hits', 1, 'BAD_COUNTER_NAME'], ['9lives', 1, 'BAD_COUNTER_NAME'], ['', 1, 'BAD_COUNTER_NAME'],
    ['cache_hits', -1, 'BAD_COUNT'], ['cache_hits', 0.5, 'BAD_COUNT'], ['cache_hits', Number.NaN, 'BAD_COUNT'], ['cache_hits', Infinity, 'BAD_COUNT'],
  ] as const) {
    assert.throws(() => m.count(name, by), (err: unknown) => err instanceof MeterError && err.code === code && err.message.length > 0, `${name} ${by}`);
  }
  assert.throws(() => m.requests(10, 1.5, 20), (err: unknown) => err instanceof MeterError && err.code === 'BAD_COUNT');
  const drained = m.drain();
  assert.deepEqual(drained.counters, { cache_hits: 3 }, 'only the good count');
  assert.equal(drained.requests, 0);
});
