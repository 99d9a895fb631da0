import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, backoffDelayMs, retryAfterMs } from '../src/index.ts';

describe('backoff', () => {
  it('grows exponentially with full jitter up to its cap, and resets', () => {
    const top = new Backoff(100, 1000, () => 1);
    assert.deepEqual([top.next(), top.next(), top.next(), top.next(), top.next()], [100, 200, 400, 800, 1000]);
    assert.equal(top.attempts, 5);
    top.reset();
    assert.equal(top.next(), 100);
    const low = new Backoff(100, 1000, () => 0);
    assert.equal(low.next(), 0);
  });

  it('the class and the function agree: one schedule for every retry in failsmall', () => {
    const b = new Backoff(250, 30_000, () => 0.5);
    for (let n = 1; n <= 12; n++) assert.equal(b.next(), backoffDelayMs(n, 250, 30_000, () => 0.5));
  });

  it('reads Retry-After as seconds or an HTTP date, and nothing else', () => {
    assert.equal(retryAfterMs('7', 0), 7000);
    assert.equal(retryAfterMs('Thu, 01 Jan 1970 00:00:10 GMT', 4000), 6000);
    assert.equal(retryAfterMs('soon', 0), undefined);
    assert.equal(retryAfterMs(undefined, 0), undefined);
  });
});
