import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientPrefix, SourceTracker } from '../src/sources.ts';

describe('source diversity', () => {
  it('keeps only the /24 or /48 of a client', () => {
    assert.equal(clientPrefix('203.0.113.77'), '203.0.113.0/24');
    assert.equal(clientPrefix('::ffff:203.0.113.77'), '203.0.113.0/24');
    assert.equal(clientPrefix('2001:db8:1:2::5'), '2001:db8:1::/48');
    assert.equal(clientPrefix('2001:0db8::1'), '2001:db8:0::/48');
    assert.equal(clientPrefix('10.1.2.0/24'), '10.1.2.0/24', 'a prefix is taken as it is');
  });

  it('reports the interval entropy in millibits times requests, and never-seen requests once warm', () => {
    let now = 0;
    const t = new SourceTracker({ warmupMs: 1000, now: () => now });
    // 4 prefixes, equally: 2 bits. Reference: -Σ p log2 p = -4 × 0.25 × log2(0.25) = 2.
    for (const p of ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4']) t.record(p, 25);
    assert.deepEqual(t.drain(), { source_requests: 100, source_entropy_millibits_x_requests: 2000 * 100 }, 'no never-seen share while warming up');
    now = 2000;
    // 3/4 from one known prefix, 1/4 from a new one: H = -(0.75 log2 0.75 + 0.25 log2 0.25) = 0.811278 bits.
    t.record('1.1.1.9', 75);
    t.record('5.5.5.5', 25);
    assert.deepEqual(t.drain(), { source_requests: 100, source_entropy_millibits_x_requests: 811 * 100, source_never_seen: 25 });
    assert.deepEqual(t.drain(), {}, 'an interval with no sources reports nothing');
  });

  it('forgets the oldest prefixes past its bound, so memory stays bounded', () => {
    const t = new SourceTracker({ warmupMs: 0, maxRemembered: 2 });
    t.record('1.1.1.1'); t.record('2.2.2.2'); t.record('3.3.3.3');
    t.drain();
    t.record('1.1.1.1'); // forgotten: never seen again
    t.record('3.3.3.3'); // remembered
    assert.equal(t.drain().source_never_seen, 1);
  });
});
