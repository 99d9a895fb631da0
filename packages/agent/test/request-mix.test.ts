import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModuleMeter } from '../src/counters.ts';
import { RequestMixTracker } from '../src/request-mix.ts';
import { USER_AGENT_FAMILIES, userAgentFamily } from '../src/user-agent.ts';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

describe('request mix', () => {
  it('reports each entropy in millibits times requests, the expensive requests and the total cost', () => {
    const t = new RequestMixTracker({ expensive: ['/search'] });
    // Methods 75 GET / 25 POST: H = -(0.75 log2 0.75 + 0.25 log2 0.25) = 0.811278 bits.
    // Four path classes, equally: H = -4 × 0.25 × log2 0.25 = 2 bits. One user-agent family: 0 bits.
    for (const path_class of ['/', '/item/:id', '/cart']) t.record({ method: 'GET', path_class, user_agent: 'curl/8.5.0', cost_ms: 10 }, 25);
    t.record({ method: 'POST', path_class: '/search', user_agent: 'curl/7.88.1', cost_ms: 100 }, 25);
    assert.deepEqual(t.drain(), {
      mix_requests: 100,
      mix_method_entropy_millibits_x_requests: 811 * 100,
      mix_path_entropy_millibits_x_requests: 2000 * 100,
      mix_user_agent_entropy_millibits_x_requests: 0,
      mix_expensive: 25,
      mix_cost_ms: 75 * 10 + 25 * 100,
    });
    assert.deepEqual(t.drain(), {}, 'an interval with no requests reports nothing');
  });

  it('tells user-agent families apart, whatever the versions', () => {
    const cases: [string | undefined, string][] = [
      ['curl/8.5.0', 'curl'],
      ['python-requests/2.31.0', 'python-requests'],
      ['Go-http-client/1.1', 'Go-http-client'],
      ['Go-http-client/2.0', 'Go-http-client'],
      ['Python/3.11 aiohttp/3.9.1', 'aiohttp'],
      ['Apache-HttpClient/4.5.14 (Java/17.0.2)', 'Apache-HttpClient'],
      ['okhttp/4.12.0', 'okhttp'],
      ['Wget/1.21.4', 'Wget'],
      ['node', 'node'],
      [CHROME, 'Chrome'],
      [`${CHROME} Edg/120.0.2210.91`, 'Edge'],
      [`${CHROME} OPR/106.0.0.0`, 'Opera'],
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1', 'Chrome'],
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 'Safari'],
      ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'Firefox'],
      ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36', 'HeadlessChrome'],
      ['Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/120.0.6099.129 Safari/537.36', 'Googlebot'],
      ['Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', 'bot'],
      ['Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)', 'IE'],
      ['MyScanner/0.1 (+https://scanner.example)', 'other'],
      [`${'x'.repeat(100_000)}/1`, 'other'],
      ['', 'none'],
      [undefined, 'none'],
    ];
    for (const [ua, family] of cases) {
      assert.equal(userAgentFamily(ua), family, String(ua).slice(0, 80));
      assert.ok(USER_AGENT_FAMILIES.includes(family), `${family} is listed`);
    }
  });

  it('keeps at most maxKeys keys per dimension in an interval, the rest as other, and starts afresh each interval', () => {
    const t = new RequestMixTracker({ maxKeys: 4 });
    for (let i = 0; i < 10; i++) t.record({ method: i % 2 ? 'get' : 'BREW', path_class: `/p${i}`, user_agent: undefined, cost_ms: 0 });
    // Three path classes of their own and seven as `other`: H = -(3 × 0.1 log2 0.1 + 0.7 log2 0.7) = 1.356780 bits.
    // Methods: `get` is GET, an unknown method is OTHER: 5 and 5, 1 bit.
    const c = t.drain();
    assert.equal(c.mix_path_entropy_millibits_x_requests, 1357 * 10);
    assert.equal(c.mix_method_entropy_millibits_x_requests, 1000 * 10);
    for (let i = 0; i < 4; i++) t.record({ method: 'GET', path_class: `/q${i}`, cost_ms: 0 });
    // A new interval has room again: the three first are kept, the fourth is `other` (4 keys, 2 bits).
    assert.equal(t.drain().mix_path_entropy_millibits_x_requests, 2000 * 4);
  });

  it('counts expensive requests by the configured path classes, unless the request says otherwise', () => {
    const t = new RequestMixTracker({ expensive: ['/search', '/report/:id'] });
    t.record({ method: 'GET', path_class: '/search', cost_ms: 300 }, 3);
    t.record({ method: 'GET', path_class: '/report/:id', cost_ms: 900 });
    t.record({ method: 'GET', path_class: '/search', cost_ms: 2, expensive: false }); // a cached answer
    t.record({ method: 'POST', path_class: '/login', cost_ms: 250, expensive: true });
    t.record({ method: 'GET', path_class: '/', cost_ms: 1 }, 4);
    const c = t.drain();
    assert.equal(c.mix_requests, 10);
    assert.equal(c.mix_expensive, 5);
    assert.equal(c.mix_cost_ms, 3 * 300 + 900 + 2 + 250 + 4);
  });

  it('sums cost to whole ms and ignores a cost that is not a duration', () => {
    const t = new RequestMixTracker();
    for (let i = 0; i < 4; i++) t.record({ method: 'GET', path_class: '/', cost_ms: 0.4 });
    t.record({ method: 'GET', path_class: '/', cost_ms: Number.NaN });
    t.record({ method: 'GET', path_class: '/', cost_ms: -5 });
    const c = t.drain();
    assert.equal(c.mix_cost_ms, 2, '4 × 0.4 ms = 1.6 ms, rounded once per interval');
    assert.equal(c.mix_requests, 6);
  });

  it('ignores a count that is not a whole number of requests, so one bad call cannot spoil the push', () => {
    const t = new RequestMixTracker();
    for (const n of [Number.NaN, 0.5, -1, 0, Number.POSITIVE_INFINITY]) t.record({ method: 'GET', path_class: '/', cost_ms: 1 }, n);
    assert.deepEqual(t.drain(), {});
  });

  it('leaves the node through the module meter, with the configured expensive path classes', () => {
    const m = new ModuleMeter(undefined, {}, { expensive: ['/search'] });
    m.request(true, 40);
    m.mix({ method: 'GET', path_class: '/search', user_agent: CHROME, cost_ms: 40 });
    const c = m.drain();
    assert.deepEqual(c.counters, {
      mix_requests: 1, mix_method_entropy_millibits_x_requests: 0, mix_path_entropy_millibits_x_requests: 0,
      mix_user_agent_entropy_millibits_x_requests: 0, mix_expensive: 1, mix_cost_ms: 40,
    });
    assert.deepEqual(m.drain().counters, {}, 'the mix is per interval');
  });
});
