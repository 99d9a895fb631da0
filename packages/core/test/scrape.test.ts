import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  defaultModuleMapping, LATENCY_BUCKETS_MS, parseScrapeMapping, parseSeriesSelector, readScrape, rebucket,
  type Exposition, type ScrapeBase, type ScrapeModuleMapping, type ScrapeSample,
} from '../src/index.ts';

/** An exposition from `name{labels} value` triples; every name counts as declared. */
function expo(samples: [string, Record<string, string>, number][], declared: string[] = []): Exposition {
  const list: ScrapeSample[] = samples.map(([name, labels, value]) => ({ name, labels, value }));
  return { samples: list, names: new Set([...list.map((s) => s.name), ...declared]) };
}

/** A prom-client style histogram in seconds: cumulative counts at each bound, then +Inf. */
function histogram(name: string, labels: Record<string, string>, bounds: number[], cumulative: number[], total: number): [string, Record<string, string>, number][] {
  return [
    ...bounds.map((b, i): [string, Record<string, string>, number] => [`${name}_bucket`, { ...labels, le: String(b) }, cumulative[i] ?? 0]),
    [`${name}_bucket`, { ...labels, le: '+Inf' }, total],
  ];
}

function mapping(yaml: string, module = 'proxy'): ScrapeModuleMapping {
  const r = parseScrapeMapping(yaml, { file: 'map.yaml' });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const m = r.value.modules[module];
  assert.ok(m);
  return m;
}

/** Reads a first scrape (the base) then a second; returns the second's counters. */
function increaseBetween(m: ScrapeModuleMapping, first: Exposition, second: Exposition) {
  const a = readScrape(m, first, undefined);
  assert.ok(a.ok, JSON.stringify(!a.ok && a.problem));
  assert.equal(a.counters, null, 'the first scrape only sets the base');
  const b = readScrape(m, second, a.base);
  assert.ok(b.ok, JSON.stringify(!b.ok && b.problem));
  assert.ok(b.counters);
  return b.counters;
}

describe('series selectors', () => {
  it('read a name with =, !=, =~ and !~ matchers, regexes anchored as in PromQL', () => {
    const r = parseSeriesSelector('http_requests_total{code=~"5..", job!="probe", path!~"/health.*", method="GET"}');
    assert.ok(r.ok);
    assert.equal(r.selector.name, 'http_requests_total');
    assert.deepEqual(r.selector.matchers.map((m) => [m.label, m.op, m.value]), [['code', '=~', '5..'], ['job', '!=', 'probe'], ['path', '!~', '/health.*'], ['method', '=', 'GET']]);
    assert.equal(r.selector.matchers[0]?.re?.test('503'), true);
    assert.equal(r.selector.matchers[0]?.re?.test('5030'), false, 'anchored at both ends');
  });

  it('refuse what PromQL refuses, pointing at the column', () => {
    const cases: [string, RegExp, number][] = [
      ['9lives', /not a metric name/, 1],
      ['x{code=5}', /must be quoted/, 8],
      ['x{code~"5"}', /expected =, !=, =~ or !~/, 7],
      ['x{code="5"', /expected , or }/, 11],
      ['x{code="5}', /no closing "/, 8],
      ['x{code=~"(5"}', /does not compile/, 9],
      ['x{code="5"} extra', /unexpected "extra"/, 13],
    ];
    for (const [text, message, col] of cases) {
      const r = parseSeriesSelector(text);
      assert.equal(r.ok, false, text);
      if (r.ok) continue;
      assert.match(r.message, message, text);
      assert.equal(r.col, col, `${text}: ${r.message}`);
    }
  });
});

describe('scrape mapping files', () => {
  it('read requests, errors, latency with its unit, counters and a timeout', () => {
    const m = mapping(`
modules:
  proxy:
    requests: http_requests_total{handler!="/healthz"}
    errors: http_requests_total{handler!="/healthz",code=~"5.."}
    latency: proxy_latency_ms
    counters: { upstream_timeouts: proxy_upstream_timeouts_total }
    timeout: 500ms
`);
    assert.equal(m.requests.text, 'http_requests_total{handler!="/healthz"}');
    assert.ok(m.errors !== 'status-5xx' && m.errors.matchers.length === 2);
    assert.ok(typeof m.latency === 'object');
    assert.equal(m.latency.unit, 'milliseconds');
    assert.equal(m.counters.upstream_timeouts?.name, 'proxy_upstream_timeouts_total');
    assert.equal(m.timeoutMs, 500);
  });

  it('fill what a module leaves out with the common names', () => {
    const m = mapping('modules:\n  proxy: { latency: none }\n');
    assert.equal(m.requests.name, 'http_requests_total');
    assert.equal(m.errors, 'status-5xx');
    assert.equal(m.latency, 'none');
    assert.equal(defaultModuleMapping().latency, 'auto');
  });

  it('give every mistake with file:line:col and a code', () => {
    const r = parseScrapeMapping([
      'modules:',
      '  proxy:',
      '    requests: http_requests_total{code=500}',
      '    latency: request_latency',
      '    timeout: 5',
      '    erors: x_total',
      '  api: []',
    ].join('\n'), { file: 'map.yaml' });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const got = r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.code}`);
    assert.deepEqual(got, [
      'map.yaml:3:40 BAD_SELECTOR',
      'map.yaml:4:14 MISSING_KEY',
      'map.yaml:5:14 BAD_DURATION',
      'map.yaml:6:5 UNKNOWN_KEY',
      'map.yaml:7:8 WRONG_TYPE',
    ]);
    assert.match(r.errors[3]?.hint ?? '', /errors/, 'a misspelt key suggests the right one');
  });

  it('refuse a file that is not a mapping of modules', () => {
    for (const text of ['- proxy', 'proxy: {}', 'modules: 3', 'modules: {a: {requests: [1]}']) {
      const r = parseScrapeMapping(text, { file: 'm.yaml' });
      assert.equal(r.ok, false, text);
    }
  });
});

describe('reading a scrape', () => {
  const m = defaultModuleMapping();
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

  it('pushes the increase of every series summed, and counts 5xx series of code, status or status_code as errors', () => {
    const c = increaseBetween(m,
      expo([['http_requests_total', { code: '200', path: '/' }, 100], ['http_requests_total', { code: '503', path: '/' }, 2], ['http_requests_total', { status: '500', path: '/a' }, 1]]),
      expo([['http_requests_total', { code: '200', path: '/' }, 190], ['http_requests_total', { code: '503', path: '/' }, 7], ['http_requests_total', { status: '500', path: '/a' }, 4], ['http_requests_total', { status_code: '404' }, 0]]));
    assert.equal(c.requests, 90 + 5 + 3);
    assert.equal(c.errors, 5 + 3);
    assert.equal(c.loads_attempted, 0);
  });

  it('takes a counter lower than before as a reset (the application restarted): its new value is the increase', () => {
    const c = increaseBetween(m,
      expo([['http_requests_total', { code: '200' }, 5000], ['http_requests_total', { code: '500' }, 40]]),
      expo([['http_requests_total', { code: '200' }, 30], ['http_requests_total', { code: '500' }, 45]]));
    assert.equal(c.requests, 30 + 5);
    assert.equal(c.errors, 5);
  });

  it('counts a series that appears after the first scrape from zero: the first 5xx is not lost', () => {
    const c = increaseBetween(m,
      expo([['http_requests_total', { code: '200' }, 10]]),
      expo([['http_requests_total', { code: '200' }, 20], ['http_requests_total', { code: '502' }, 3]]));
    assert.deepEqual([c.requests, c.errors], [13, 3]);
  });

  it('knows a declared counter with no series yet (no request so far) from a missing one', () => {
    const quiet = increaseBetween(m, expo([], ['http_requests_total']), expo([], ['http_requests_total']));
    assert.deepEqual([quiet.requests, quiet.errors], [0, 0]);
    const missing = readScrape(m, expo([['process_cpu_seconds_total', {}, 3]]), undefined);
    assert.equal(missing.ok, false);
    if (!missing.ok) {
      assert.equal(missing.problem.reason, 'missing_metric');
      assert.match(missing.problem.message, /no http_requests_total \(requests\) in the answer.*e\.g\. process_cpu_seconds_total.*--scrape-map/);
    }
  });

  it('filters requests and errors by label matchers, and refuses errors that are not a subset of requests', () => {
    const filtered = mapping('modules:\n  proxy:\n    requests: app_requests_total{handler!="/healthz"}\n    errors: app_requests_total{handler!="/healthz",result="error"}\n    latency: none\n');
    const c = increaseBetween(filtered,
      expo([['app_requests_total', { handler: '/', result: 'ok' }, 0], ['app_requests_total', { handler: '/', result: 'error' }, 0], ['app_requests_total', { handler: '/healthz', result: 'error' }, 0]]),
      expo([['app_requests_total', { handler: '/', result: 'ok' }, 50], ['app_requests_total', { handler: '/', result: 'error' }, 5], ['app_requests_total', { handler: '/healthz', result: 'error' }, 1000]]));
    assert.deepEqual([c.requests, c.errors], [55, 5], 'health checks are neither requests nor errors');

    const apart = mapping('modules:\n  proxy:\n    requests: app_requests_total\n    errors: app_failures_total\n    latency: none\n');
    const base = readScrape(apart, expo([['app_requests_total', {}, 10], ['app_failures_total', {}, 0]]), undefined);
    assert.ok(base.ok);
    const bad = readScrape(apart, expo([['app_requests_total', {}, 12], ['app_failures_total', {}, 9]]), base.base);
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.problem.reason, 'inconsistent');
  });

  it('re-buckets a labelled seconds histogram onto the shared ms buckets, summing its series, with the total exact', () => {
    const first = expo([
      ['http_requests_total', { code: '200' }, 0],
      ...histogram('http_request_duration_seconds', { route: '/a' }, seconds, seconds.map(() => 0), 0),
      ...histogram('http_request_duration_seconds', { route: '/b' }, seconds, seconds.map(() => 0), 0),
    ]);
    // /a: 100 requests of 20-25 ms; /b: 10 requests of 0.5-1 s and one slower than 10 s.
    const second = expo([
      ['http_requests_total', { code: '200' }, 111],
      ...histogram('http_request_duration_seconds', { route: '/a' }, seconds, seconds.map((b) => (b >= 0.025 ? 100 : 0)), 100),
      ...histogram('http_request_duration_seconds', { route: '/b' }, seconds, seconds.map((b) => (b >= 1 ? 10 : 0)), 11),
    ]);
    const c = increaseBetween(m, first, second);
    const at = (ms: number) => c.latency_buckets[LATENCY_BUCKETS_MS.indexOf(ms)];
    assert.equal(c.latency_buckets.length, LATENCY_BUCKETS_MS.length + 1);
    assert.equal(at(25), 100, 'the 10-25 ms bucket holds /a');
    assert.equal(at(1000), 10, 'the 500-1000 ms bucket holds /b');
    assert.equal(c.latency_buckets.at(-1), 1, 'above the last finite bound: +Inf');
    assert.equal(c.latency_buckets.reduce((a, b) => a + b, 0), 111);
  });

  it('interpolates linearly inside a coarse bucket, as histogram_quantile assumes', () => {
    // 100 observations in (100 ms, 1000 ms]: the shared bounds 250 and 500 ms cut it at 1/6 and 4/9.
    const buckets = rebucket({ bounds: [100, 1000], cumulative: [0, 100], total: 100 });
    assert.equal(buckets[LATENCY_BUCKETS_MS.indexOf(250)], Math.round(100 * 150 / 900));
    assert.equal(buckets[LATENCY_BUCKETS_MS.indexOf(500)], Math.round(100 * 400 / 900) - Math.round(100 * 150 / 900));
    assert.equal(buckets[LATENCY_BUCKETS_MS.indexOf(1000)], 100 - Math.round(100 * 400 / 900));
  });

  it('re-buckets any cumulative histogram to non-negative counts with the same total (property)', () => {
    const arb = fc.array(fc.tuple(fc.double({ min: 0.001, max: 20_000, noNaN: true }), fc.nat(1000)), { minLength: 1, maxLength: 12 });
    fc.assert(fc.property(arb, fc.nat(1000), (raw, above) => {
      const byBound = [...new Map(raw.map(([b, n]) => [b, n])).entries()].sort((a, b) => a[0] - b[0]);
      let running = 0;
      const cumulative = byBound.map(([, n]) => (running += n));
      const out = rebucket({ bounds: byBound.map(([b]) => b), cumulative, total: running + above });
      assert.ok(out.every((n) => Number.isInteger(n) && n >= 0), JSON.stringify(out));
      assert.equal(out.reduce((a, b) => a + b, 0), running + above);
    }));
  });

  it('takes a histogram whose buckets fell as reset, and reads ms histograms by their name', () => {
    const ms = mapping('modules:\n  proxy:\n    latency: app_latency_ms\n');
    const c = increaseBetween(ms,
      expo([['http_requests_total', {}, 500], ...histogram('app_latency_ms', {}, [10, 100], [400, 500], 500)]),
      expo([['http_requests_total', {}, 3], ...histogram('app_latency_ms', {}, [10, 100], [1, 3], 3)]));
    assert.equal(c.requests, 3);
    assert.equal(c.latency_buckets.reduce((a, b) => a + b, 0), 3, 'after the reset, the new counts are the increase');
    const upTo10ms = c.latency_buckets.slice(0, LATENCY_BUCKETS_MS.indexOf(10) + 1).reduce((a, b) => a + b, 0);
    assert.equal(upTo10ms, 1, 'one observation at or under 10 ms (spread over 0-10 ms)');
  });

  it('refuses a histogram with no +Inf bucket or buckets that are not cumulative, and a negative or NaN counter', () => {
    const cases: Exposition[] = [
      expo([['http_requests_total', {}, 1], ['http_request_duration_seconds_bucket', { le: '0.1' }, 1]]),
      expo([['http_requests_total', {}, 1], ...histogram('http_request_duration_seconds', {}, [0.1, 0.2], [5, 3], 5)]),
      expo([['http_requests_total', {}, NaN]]),
      expo([['http_requests_total', {}, -1]]),
    ];
    for (const e of cases) {
      const r = readScrape(m, e, undefined);
      assert.equal(r.ok, false, JSON.stringify(e.samples));
      if (!r.ok) assert.equal(r.problem.reason, 'inconsistent');
    }
  });

  it('pushes custom counters by name, for custom: gates', () => {
    const withCounters = mapping('modules:\n  proxy:\n    counters:\n      upstream_timeouts: proxy_upstream_timeouts_total{upstream!="canary"}\n');
    const c = increaseBetween(withCounters,
      expo([['http_requests_total', {}, 0], ['proxy_upstream_timeouts_total', { upstream: 'a' }, 1], ['proxy_upstream_timeouts_total', { upstream: 'canary' }, 1]]),
      expo([['http_requests_total', {}, 10], ['proxy_upstream_timeouts_total', { upstream: 'a' }, 4], ['proxy_upstream_timeouts_total', { upstream: 'canary' }, 9]]));
    assert.deepEqual(c.counters, { upstream_timeouts: 3 });
  });

  it('keeps nothing from a failed reading: the next good one measures from the last good base', () => {
    const a = readScrape(m, expo([['http_requests_total', { code: '200' }, 10]]), undefined);
    assert.ok(a.ok);
    const base: ScrapeBase = a.base;
    assert.equal(readScrape(m, expo([]), base).ok, false);
    const b = readScrape(m, expo([['http_requests_total', { code: '200' }, 35]]), base);
    assert.ok(b.ok && b.counters);
    assert.equal(b.counters.requests, 25);
  });
});
