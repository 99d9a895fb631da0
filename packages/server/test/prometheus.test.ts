/**
 * Prometheus as a signal source, against a REAL Prometheus (Debian's 2.42) scraping real
 * agents registered to a real control plane. Values are asserted with a tolerance computed
 * from what the agents recorded; no assertion depends on timing.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from '@failsmall/agent';
import { freePort, waitFor } from '../../../test/helpers/procs.ts';
import { requirePrometheus, TestPrometheus } from '../../../test/helpers/prometheus.ts';
import { renderQueryTemplate, type QueryVars } from '@failsmall/core';
import { PrometheusClient, validateQuery, type PrometheusResult } from '../src/signals/index.ts';
import { call, testServer } from './fixtures.ts';

const ERROR_RATE = 'sum(rate(failsmall_agent_errors_total{module="proxy", {{cohort_selector}} }[{{window}}])) / sum(rate(failsmall_agent_requests_total{module="proxy", {{cohort_selector}} }[{{window}}]))';
const BASELINE_ERROR_RATE = ERROR_RATE.replaceAll('cohort_selector', 'baseline_selector');

describe('Prometheus as a signal source (a real Prometheus scraping real agents)', () => {
  // Node ids chosen so that an unescaped `.` in `fra.1` would also match `fraX1`.
  const NODES = [
    { id: 'fra.1', errorsPerTick: 2 }, // cohort: 10% errors
    { id: 'fra:2', errorsPerTick: 6 }, // cohort: 30% errors
    { id: 'fraX1', errorsPerTick: 1 }, // baseline: 5% errors
  ];
  const PER_TICK = 20;
  const COHORT = ['fra.1', 'fra:2'];
  const WINDOW_MS = 30_000;

  let server: Awaited<ReturnType<typeof testServer>> | undefined;
  let prom: TestPrometheus | undefined;
  const agents: Agent[] = [];
  const recorded = new Map<string, { requests: number; errors: number }>();
  const targets: string[] = [];
  let traffic: NodeJS.Timeout | undefined;
  let client: PrometheusClient;

  before(async () => {
    requirePrometheus(); // fail before starting anything else
    server = await testServer();
    const s = server;
    const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
    for (const n of NODES) {
      const port = await freePort();
      targets.push(`127.0.0.1:${port}`);
      const agent = new Agent({
        server: s.url, token, nodeId: n.id, labels: {}, modules: ['proxy'], dir: join(s.dir, `agent-${agents.length}`),
        metricsIntervalMs: 500, pollWaitMs: 2000, publicKey: s.publicKey, metricsListen: `127.0.0.1:${port}`,
        log: { info() {}, warn() {} },
      });
      agents.push(agent);
      await agent.start();
      // One request on an `idle` module and never again: its rate is 0, so errors/requests is 0/0.
      agent.meter('idle').request(true, 1);
      recorded.set(n.id, { requests: 0, errors: 0 });
    }
    await waitFor('the three agents to register', async () => (await call(s.url, 'GET', '/v1/nodes', { token: s.admin })).body.nodes?.length === NODES.length);
    // Every node records the same number of requests at the same instant, each with its own error fraction.
    traffic = setInterval(() => {
      NODES.forEach((n, i) => {
        const meter = agents[i]?.meter('proxy');
        for (let k = 0; k < PER_TICK; k++) meter?.request(k >= n.errorsPerTick, 5 + k);
        const r = recorded.get(n.id);
        if (r) { r.requests += PER_TICK; r.errors += n.errorsPerTick; }
      });
    }, 100);
    prom = await TestPrometheus.start({ targets });
    await prom.waitForTargetsUp(targets);
    client = new PrometheusClient({ url: prom.url, timeoutMs: 10_000 });
    // A rate needs two samples in its window; until every node has a few, a cohort's value is
    // computed from some of its nodes only.
    await scrapesOfEveryNode(3);
  });

  after(async () => {
    if (traffic) clearInterval(traffic);
    await prom?.cleanup();
    for (const a of agents) await a.stop();
    await server?.cleanup();
  });

  /** Waits until Prometheus holds at least `n` scrapes of every node (within the last 30 s). */
  async function scrapesOfEveryNode(n: number): Promise<void> {
    let last: PrometheusResult | undefined;
    await waitFor(`Prometheus to hold ${n} scrapes of every node`, async () => {
      last = await client.query(`count(count_over_time(failsmall_agent_requests_total{module="proxy"}[30s]) >= ${n})`);
      return last.ok && last.value === NODES.length;
    }, { timeoutMs: 60_000, intervalMs: 250, last: () => JSON.stringify(last) });
  }

  /** Runs a query until Prometheus has enough samples for it (rate needs two scrapes in the window). */
  async function settled(template: string, vars: Partial<QueryVars> = {}): Promise<PrometheusResult> {
    let last: PrometheusResult | undefined;
    await waitFor(`Prometheus to have data for ${template}`, async () => {
      const r = await client.queryTemplate(template, { cohort: COHORT, windowMs: WINDOW_MS, intervalMs: 1000, ...vars });
      assert.notEqual(r.code, 'BAD_TEMPLATE', JSON.stringify(r));
      if (r.code === 'BAD_TEMPLATE') return false;
      last = r;
      return r.code !== 'NO_DATA';
    }, { timeoutMs: 60_000, intervalMs: 250, last: () => JSON.stringify(last) });
    assert.ok(last);
    return last;
  }

  function expectedRatio(nodes: readonly string[]): number {
    let requests = 0;
    let errors = 0;
    for (const id of nodes) { const r = recorded.get(id); requests += r?.requests ?? 0; errors += r?.errors ?? 0; }
    return errors / requests;
  }

  it('gives the cohort error rate for a templated query', async () => {
    const r = await settled(ERROR_RATE);
    assert.ok(r.ok, `expected a value: ${r.message}`);
    const expected = expectedRatio(COHORT); // 0.2: 8 errors in 40 requests per tick
    assert.ok(Math.abs(r.value - expected) < 0.02, `cohort error rate ${r.value}, expected about ${expected} (fraX1 leaking into the cohort would give 0.15)`);
    assert.match(r.query, /node=~"fra\\\\.1\|fra:2"/);
    assert.deepEqual(r.labels, {});
    assert.ok(Math.abs(r.evalTimeMs - Date.now()) < 600_000, 'the evaluation time is now, in ms');
    assert.match(r.message, /= 0\.\d+ at \d{4}-/);
  });

  it('gives the baseline (every node outside the cohort) its own error rate', async () => {
    const r = await settled(BASELINE_ERROR_RATE);
    assert.ok(r.ok, `expected a value: ${r.message}`);
    const expected = expectedRatio(['fraX1']); // 0.05
    assert.ok(Math.abs(r.value - expected) < 0.01, `baseline error rate ${r.value}, expected about ${expected}`);
  });

  it('selects the cohort correctly when it is listed among 10,000 node ids', async () => {
    const fleet = Array.from({ length: 9_998 }, (_, i) => `node-${String(i).padStart(5, '0')}.example`);
    const r = await settled(ERROR_RATE, { cohort: [...fleet, ...COHORT] });
    assert.ok(r.ok, `expected a value: ${r.message}`);
    assert.ok(Math.abs(r.value - expectedRatio(COHORT)) < 0.02, `cohort error rate ${r.value}`);
    assert.ok(r.query.length > 200_000, `the query is ${r.query.length} characters`);
  });

  it('gives a per-interval series over a range', async () => {
    // Every point's 3 s window must lie where every node was already scraped: 8 scrapes ≈ 7 s back.
    await scrapesOfEveryNode(8);
    const end = Date.now();
    const rendered = renderQueryTemplate(ERROR_RATE, { cohort: COHORT, windowMs: 3000, intervalMs: 1000 });
    assert.ok(rendered.ok);
    const r = await client.queryRange(rendered.query, { startMs: end - 3000, endMs: end, stepMs: 1000 });
    assert.ok(r.ok, `expected points: ${r.message}`);
    assert.equal(r.points.length + r.skippedNonFinite, 4, 'one point per step, ends included');
    for (const p of r.points) assert.ok(Math.abs(p.value - expectedRatio(COHORT)) < 0.05, `point ${JSON.stringify(p)}`);
  });

  it('says NO_DATA for a selector that matches nothing', async () => {
    const r = await client.query('sum(rate(failsmall_agent_requests_total{node="no-such-node"}[30s]))');
    assert.equal(r.code, 'NO_DATA', r.message);
    assert.match(r.message, /no data/);
    const empty = await client.queryTemplate(ERROR_RATE, { cohort: ['not-in-this-fleet'], windowMs: WINDOW_MS, intervalMs: 1000 });
    assert.equal(empty.code, 'NO_DATA', 'a cohort whose nodes Prometheus does not know has no data, not 0');
  });

  it('says NAN_OR_INF for 0/0 (no traffic in the window) and for a division by zero', async () => {
    const r = await settled('sum(rate(failsmall_agent_errors_total{module="idle"}[{{window}}])) / sum(rate(failsmall_agent_requests_total{module="idle"}[{{window}}]))', { windowMs: 5000 });
    assert.equal(r.code, 'NAN_OR_INF', r.message);
    assert.ok(!r.ok && r.code === 'NAN_OR_INF' && r.value === 'NaN');
    const inf = await client.query('1 / 0');
    assert.ok(!inf.ok && inf.code === 'NAN_OR_INF' && inf.value === '+Inf', inf.message);
  });

  it('says MULTIPLE_SERIES, with their labels, for a query that is not aggregated', async () => {
    const r = await settled('failsmall_agent_requests_total{module="proxy"}');
    assert.ok(!r.ok && r.code === 'MULTIPLE_SERIES', r.message);
    assert.equal(r.seriesCount, 3);
    assert.deepEqual(r.series.map((s) => s.labels.node).sort(), ['fra.1', 'fra:2', 'fraX1']);
    assert.ok(r.series.every((s) => s.labels.__name__ === 'failsmall_agent_requests_total' && s.labels.module === 'proxy'));
    assert.match(r.message, /3 series where one was expected/);
  });

  it('says BAD_QUERY, with Prometheus\'s own error, for a query it cannot parse (HTTP 400 bad_data)', async () => {
    const r = await client.query('sum(rate(failsmall_agent_requests_total[30s])');
    assert.ok(!r.ok && r.code === 'BAD_QUERY', r.message);
    assert.equal(r.status, 400);
    assert.equal(r.errorType, 'bad_data');
    assert.match(r.error, /parse error/);
    const range = await client.query('failsmall_agent_requests_total[5s]');
    assert.ok(!range.ok && range.code === 'BAD_QUERY', `a range vector is not a number: ${range.message}`);
  });

  it('says HTTP_ERROR with Prometheus\'s errorType for an execution error (HTTP 422)', async () => {
    await settled('failsmall_agent_requests_total{module="proxy"}');
    const r = await client.query('failsmall_agent_requests_total / on(module) failsmall_agent_requests_total');
    assert.ok(!r.ok && r.code === 'HTTP_ERROR', r.message);
    assert.equal(r.status, 422);
    assert.equal(r.errorType, 'execution');
  });

  it('validates a template with Prometheus before a rollout runs it', async () => {
    assert.ok(prom);
    const good = await validateQuery(prom.url, ERROR_RATE);
    assert.ok(good.ok, JSON.stringify(good));
    assert.deepEqual(good.placeholders, ['cohort_selector', 'window']);
    const bad = await validateQuery(prom.url, 'sum(rate(x{ {{cohort_selector}} }[{{window}}])');
    assert.ok(!bad.ok && bad.checked && bad.code === 'BAD_QUERY', JSON.stringify(bad));
    assert.match(bad.message, /unclosed left parenthesis/);
    const typeError = await validateQuery(prom.url, 'rate(x{ {{cohort_selector}} })');
    assert.ok(!typeError.ok && typeError.code === 'BAD_QUERY', JSON.stringify(typeError));
    const unknown = await validateQuery(prom.url, 'x{ {{cohorts}} }');
    assert.ok(!unknown.ok && unknown.code === 'BAD_TEMPLATE', JSON.stringify(unknown));
    assert.equal(unknown.errors[0]?.code, 'UNKNOWN_PLACEHOLDER');
    const down = await validateQuery(`http://127.0.0.1:${await freePort()}`, ERROR_RATE);
    assert.ok(!down.ok && !down.checked && down.code === 'UNREACHABLE', 'an unreachable Prometheus neither accepts nor refuses a query');
  });

  it('sends the installation\'s bearer token and headers, under a path prefix', async () => {
    const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
    const fake = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0.5'] }] } }));
      });
    });
    const url = await listen(fake);
    try {
      const c = new PrometheusClient({ url: `${url}/prom/`, bearerToken: 's3cret', headers: { 'X-Scope-OrgID': 'tenant-a' }, timeoutMs: 5000 });
      const r = await c.query('sum(up)', { atMs: 1_700_000_000_123 });
      assert.ok(r.ok && r.value === 0.5, r.message);
      assert.equal(r.evalTimeMs, 1_700_000_000_123);
      assert.equal(seen[0]?.url, '/prom/api/v1/query');
      assert.equal(seen[0]?.headers.authorization, 'Bearer s3cret');
      assert.equal(seen[0]?.headers['x-scope-orgid'], 'tenant-a');
      const form = new URLSearchParams(seen[0]?.body);
      assert.equal(form.get('query'), 'sum(up)');
      assert.equal(form.get('time'), '1700000000.123');
    } finally {
      await close(fake);
    }
  });

  it('says BAD_RESPONSE for an answer that is not the Prometheus API, and HTTP_ERROR for a wrong URL', async () => {
    const fake = createHttpServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>login</html>'); });
    const url = await listen(fake);
    try {
      const r = await new PrometheusClient({ url, timeoutMs: 5000 }).query('sum(up)');
      assert.ok(!r.ok && r.code === 'BAD_RESPONSE', r.message);
    } finally {
      await close(fake);
    }
    // An agent's /metrics server is not Prometheus: it answers 404 to the API path.
    const notProm = await new PrometheusClient({ url: `http://${targets[0] ?? ''}`, timeoutMs: 5000 }).query('sum(up)');
    assert.ok(!notProm.ok && notProm.code === 'HTTP_ERROR' && notProm.status === 404, notProm.message);
  });

  it('says TIMEOUT when the server accepts the connection and never answers', async () => {
    const sockets: Socket[] = [];
    const silent: TcpServer = createTcpServer((socket) => { sockets.push(socket); });
    const url = await listen(silent);
    try {
      const r = await new PrometheusClient({ url, timeoutMs: 300 }).query('sum(up)');
      assert.ok(!r.ok && r.code === 'TIMEOUT', r.message);
      assert.equal(r.by, 'client');
      assert.equal(r.timeoutMs, 300);
      assert.match(r.message, /did not answer within 300 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await close(silent);
    }
  });

  it('says UNREACHABLE for a port where nothing listens', async () => {
    const r = await new PrometheusClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 5000 }).query('sum(up)');
    assert.ok(!r.ok && r.code === 'UNREACHABLE', r.message);
    assert.equal(r.cause, 'ECONNREFUSED');
  });

  // Last: it kills the shared Prometheus.
  it('says UNREACHABLE once Prometheus is killed mid-test, where it gave a value before', async () => {
    assert.ok(prom);
    const before = await settled(ERROR_RATE);
    assert.ok(before.ok, before.message);
    await prom.kill();
    const r = await client.queryTemplate(ERROR_RATE, { cohort: COHORT, windowMs: WINDOW_MS, intervalMs: 1000 });
    assert.ok(!r.ok && r.code === 'UNREACHABLE', `${r.code}: ${r.message}`);
    assert.match(r.message, /unreachable/);
  });
});

function listen(srv: HttpServer | TcpServer): Promise<string> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      resolve(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
    });
  });
}

function close(srv: HttpServer | TcpServer): Promise<void> {
  if ('closeAllConnections' in srv) srv.closeAllConnections();
  return new Promise((resolve) => srv.close(() => resolve()));
}
