import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { defaultModuleMapping, parseScrapeMapping, type ScrapeProblem } from '@failsmall/core';
import { AgentMetrics } from '../src/metrics.ts';
import { parseExposition, Scraper } from '../src/scrape.ts';
import { freePort } from '../../../test/helpers/procs.ts';

const PROM_CLIENT_TEXT = `# HELP http_requests_total Requests handled.
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/",code="200"} 1027
http_requests_total{method="GET",route="/api",code="502"} 3

# HELP http_request_duration_seconds Request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1",method="GET",route="/",code="200"} 1000
http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/",code="200"} 1027
http_request_duration_seconds_sum{method="GET",route="/",code="200"} 40.5
http_request_duration_seconds_count{method="GET",route="/",code="200"} 1027
http_request_duration_seconds_bucket{le="0.1",method="GET",route="/api",code="502"} 0
http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api",code="502"} 3
http_request_duration_seconds_sum{method="GET",route="/api",code="502"} 30
http_request_duration_seconds_count{method="GET",route="/api",code="502"} 3
# HELP queue_rejections_total Nothing rejected yet.
# TYPE queue_rejections_total counter
`;

describe('reading Prometheus text', () => {
  it('keeps every series of a labelled histogram whole (the parser alone folds them into one)', () => {
    const r = parseExposition(PROM_CLIENT_TEXT);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problem));
    const buckets = r.exposition.samples.filter((s) => s.name === 'http_request_duration_seconds_bucket');
    assert.equal(buckets.length, 4);
    assert.deepEqual(buckets.find((b) => b.labels.route === '/api' && b.labels.le === '+Inf')?.value, 3);
    assert.equal(r.exposition.samples.find((s) => s.name === 'http_requests_total' && s.labels.code === '502')?.value, 3);
    assert.ok(r.exposition.names.has('queue_rejections_total'), 'a declared counter with no series yet is known');
  });

  it('reads escapes, NaN, ±Inf, exponents and timestamps as Prometheus writes them', () => {
    const r = parseExposition('a_total{path="say \\"hi\\"\\\\n"} 1e3 1700000000000\nb NaN\nc +Inf\nd -1.5E-2\n');
    assert.ok(r.ok);
    assert.equal(r.exposition.samples[0]?.labels.path, 'say "hi"\\n');
    assert.deepEqual(r.exposition.samples.map((s) => s.value), [1000, NaN, Infinity, -0.015]);
  });

  it('refuses an answer that is not Prometheus text, naming what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['<html><body>Bad gateway</body></html>\n', /"<html><body>Bad" is not a metric name/],
      ['requests_total lots\n', /requests_total has the value "lots"/],
      ['x{a="1" b="2"} 1\n', /Encountered invalid line/],
      ['{"requests": 12}\n', /not a metric name|invalid line/],
    ];
    for (const [text, why] of cases) {
      const r = parseExposition(text);
      assert.equal(r.ok, false, text);
      if (r.ok) continue;
      assert.equal(r.problem.reason, 'not_prometheus');
      assert.match(r.problem.message, why);
    }
  });
});

describe('the scraper', () => {
  /** What the fake application answers next. */
  let answer: { status: number; body: string; hang?: boolean } = { status: 200, body: '' };
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer((_req, res) => {
      if (answer.hang) return; // never answers
      res.writeHead(answer.status, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/metrics`;
  });
  after(() => { server.closeAllConnections(); server.close(); });

  const counters = (ok: number, failed: number) => `# TYPE http_requests_total counter\nhttp_requests_total{code="200"} ${ok}\nhttp_requests_total{code="500"} ${failed}\n`;

  function scraper(target: string, timeoutMs = 2000) {
    const logs: string[] = [];
    const seen: (ScrapeProblem | null)[] = [];
    const metrics = new AgentMetrics('n1');
    const s = new Scraper([{ module: 'proxy', url: target, mapping: { ...defaultModuleMapping(), timeoutMs } }], {
      log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`) },
      onScrape: (module, p) => { seen.push(p); metrics.scrape(module, p?.reason ?? null); },
    });
    return { s, logs, seen, metrics };
  }

  it('sets the base on the first scrape, then hands over the increase; a restart of the application counts as a reset', async () => {
    const { s } = scraper(url);
    answer = { status: 200, body: counters(100, 1) };
    assert.equal((await s.scrape()).size, 0, 'the first scrape only sets the base');
    answer = { status: 200, body: counters(160, 4) };
    const second = (await s.scrape()).get('proxy');
    assert.deepEqual([second?.requests, second?.errors], [63, 3]);
    answer = { status: 200, body: counters(7, 1) };
    const afterRestart = (await s.scrape()).get('proxy');
    assert.deepEqual([afterRestart?.requests, afterRestart?.errors], [8, 1]);
  });

  it('gives nothing for a module whose application answers garbage, a 503 or no series, and logs once per change of reason', async () => {
    const { s, logs, seen, metrics } = scraper(url);
    answer = { status: 200, body: counters(10, 0) };
    await s.scrape();
    answer = { status: 200, body: '<html>oops</html>\n' };
    for (let i = 0; i < 3; i++) assert.equal((await s.scrape()).size, 0, 'garbage pushes nothing');
    assert.equal(s.failing('proxy'), true);
    assert.equal(s.problems().proxy?.reason, 'not_prometheus');
    answer = { status: 503, body: 'unavailable' };
    await s.scrape();
    await s.scrape();
    assert.equal(s.problems().proxy?.reason, 'http_status');
    assert.match(s.problems().proxy?.message ?? '', /HTTP 503/);
    answer = { status: 200, body: counters(25, 2) };
    const back = (await s.scrape()).get('proxy');
    assert.deepEqual([back?.requests, back?.errors], [17, 2], 'measured from the last good scrape: nothing lost');
    assert.equal(s.failing('proxy'), false);
    assert.deepEqual(s.problems(), {});

    const warnings = logs.filter((l) => l.startsWith('warn'));
    assert.equal(warnings.length, 2, `one warning per change of reason, not per scrape:\n${logs.join('\n')}`);
    assert.match(warnings[0] ?? '', /scrape of proxy .* failed \[not_prometheus\]/);
    assert.ok(logs.some((l) => /works again after \[http_status\]/.test(l)));
    assert.deepEqual(seen.map((p) => p?.reason ?? 'ok'), ['ok', 'not_prometheus', 'not_prometheus', 'not_prometheus', 'http_status', 'http_status', 'ok']);

    const text = await (await metrics.registry()).metrics();
    assert.match(text, /failsmall_agent_scrape_errors_total\{node="n1",module="proxy",reason="not_prometheus"\} 3/);
    assert.match(text, /failsmall_agent_scrape_errors_total\{node="n1",module="proxy",reason="http_status"\} 2/);
    assert.match(text, /failsmall_agent_scrape_up\{node="n1",module="proxy"\} 1/);
  });

  it('names a refused connection and a timeout as such', async () => {
    const refused = scraper(`http://127.0.0.1:${await freePort()}/metrics`);
    await refused.s.scrape();
    assert.equal(refused.s.problems().proxy?.reason, 'unreachable');
    assert.match(refused.s.problems().proxy?.message ?? '', /ECONNREFUSED/);

    const slow = scraper(url, 200);
    answer = { status: 200, body: '', hang: true };
    await slow.s.scrape();
    assert.equal(slow.s.problems().proxy?.reason, 'timeout');
    answer = { status: 200, body: counters(1, 0) };
  });

  it('reads a module by its mapping file, and calls a missing counter missing', async () => {
    const parsed = parseScrapeMapping('modules:\n  proxy:\n    requests: app_requests_total\n    errors: app_requests_total{outcome="error"}\n    latency: none\n');
    assert.ok(parsed.ok);
    const mapping = parsed.value.modules.proxy;
    assert.ok(mapping);
    const s = new Scraper([{ module: 'proxy', url, mapping }], { log: { info() {}, warn() {} } });
    answer = { status: 200, body: counters(5, 5) };
    await s.scrape();
    assert.equal(s.problems().proxy?.reason, 'missing_metric');
    assert.match(s.problems().proxy?.message ?? '', /no app_requests_total \(requests\).*e\.g\. http_requests_total/);
  });
});
