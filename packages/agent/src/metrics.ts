import { createServer, type Server } from 'node:http';
import { LATENCY_BUCKETS_MS } from '@failsmall/core';
import type { Registry } from 'prom-client';

interface Latency {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/**
 * The agent's own metrics, labelled with its node id, so that a Prometheus that scrapes every
 * node can compare cohorts. One set per agent: several agents may share a process (the SDK,
 * tests, the demo).
 *
 * The agent counts in plain numbers and loads prom-client only when it serves /metrics
 * (`--metrics-listen`): prom-client at import costs about 10 MB of resident memory, which an
 * agent that nobody scrapes should not pay (docs/benchmarks.md, agent memory).
 */
export class AgentMetrics {
  readonly #node: string;
  readonly #requests = new Map<string, { total: number; errors: number; latency: Latency }>();
  readonly #loads = new Map<string, { artifact: string; result: string; stage: string; total: number }>();
  readonly #serving = new Map<string, { version: string; state: string }>();
  readonly #scrapeErrors = new Map<string, { module: string; reason: string; total: number }>();
  readonly #scrapeUp = new Map<string, number>();
  #desiredRefused = 0;
  #lastContact = 0;

  constructor(node: string) {
    this.#node = node;
  }

  request(module: string, ok: boolean, latencyMs: number): void {
    let m = this.#requests.get(module);
    if (!m) { m = { total: 0, errors: 0, latency: { buckets: new Array<number>(LATENCY_BUCKETS_MS.length).fill(0), sum: 0, count: 0 } }; this.#requests.set(module, m); }
    m.total++;
    if (!ok) m.errors++;
    const i = LATENCY_BUCKETS_MS.findIndex((b) => latencyMs <= b);
    if (i >= 0) m.latency.buckets[i] = (m.latency.buckets[i] ?? 0) + 1;
    m.latency.sum += latencyMs;
    m.latency.count++;
  }

  load(artifact: string, ok: boolean, stage: string): void {
    const result = ok ? 'ok' : 'refused';
    const key = `${artifact}\u0000${result}\u0000${stage}`;
    const l = this.#loads.get(key) ?? { artifact, result, stage, total: 0 };
    l.total++;
    this.#loads.set(key, l);
  }

  serving(artifact: string, version: string | null, state: string): void {
    this.#serving.set(artifact, { version: version ?? '', state });
  }

  /** One scrape of a module's application: its problem's reason, or null when it worked. */
  scrape(module: string, reason: string | null): void {
    this.#scrapeUp.set(module, reason === null ? 1 : 0);
    if (reason === null) return;
    const key = `${module}\u0000${reason}`;
    const e = this.#scrapeErrors.get(key) ?? { module, reason, total: 0 };
    e.total++;
    this.#scrapeErrors.set(key, e);
  }

  /** Entries of a desired state skipped as unusable (a name no file may have, a missing field). */
  desiredRefused(count: number): void {
    this.#desiredRefused += count;
  }

  contact(): void {
    this.#lastContact = Date.now();
  }

  /** A prom-client registry whose collectors read the counts at scrape time. */
  async registry(): Promise<Registry> {
    // prom-client is CommonJS: node gives its named exports, but a chunk of the split CLI bundle
    // (scripts/build.mjs) only `default`, the module.exports object. Take whichever is there.
    const loaded: { default?: typeof import('prom-client') } & typeof import('prom-client') = await import('prom-client');
    const { Counter, Gauge, Registry: PromRegistry } = loaded.default ?? loaded;
    const registry = new PromRegistry();
    const registers = [registry];
    const node = this.#node;
    const self = this;
    new Counter({
      name: 'failsmall_agent_requests_total', help: 'Requests a module handled.', labelNames: ['node', 'module'], registers,
      collect() { this.reset(); for (const [module, m] of self.#requests) this.inc({ node, module }, m.total); },
    });
    new Counter({
      name: 'failsmall_agent_errors_total', help: 'Requests a module failed.', labelNames: ['node', 'module'], registers,
      collect() { this.reset(); for (const [module, m] of self.#requests) this.inc({ node, module }, m.errors); },
    });
    // A histogram family made from the counts the agent keeps (prom-client's Histogram takes only
    // observations): in seconds, as Prometheus names durations, on the shared latency buckets.
    registry.registerMetric(latencyHistogram(node, () => self.#requests) as unknown as Parameters<Registry['registerMetric']>[0]);
    new Counter({
      name: 'failsmall_agent_loads_total', help: 'Artifact loads by result (ok, refused) and stage (applied, verify, validate, apply).', labelNames: ['node', 'artifact', 'result', 'stage'], registers,
      collect() { this.reset(); for (const l of self.#loads.values()) this.inc({ node, artifact: l.artifact, result: l.result, stage: l.stage }, l.total); },
    });
    new Gauge({
      name: 'failsmall_agent_serving', help: '1 for the version (and module state) each artifact is served at.', labelNames: ['node', 'artifact', 'version', 'state'], registers,
      collect() { this.reset(); for (const [artifact, s] of self.#serving) this.set({ node, artifact, version: s.version, state: s.state }, 1); },
    });
    new Counter({
      name: 'failsmall_agent_scrape_errors_total', help: 'Scrapes of a module\'s application that gave no metrics, by reason (unreachable, timeout, http_status, too_large, not_prometheus, missing_metric, inconsistent).', labelNames: ['node', 'module', 'reason'], registers,
      collect() { this.reset(); for (const e of self.#scrapeErrors.values()) this.inc({ node, module: e.module, reason: e.reason }, e.total); },
    });
    new Gauge({
      name: 'failsmall_agent_scrape_up', help: '1 when the last scrape of a module\'s application gave its metrics, else 0.', labelNames: ['node', 'module'], registers,
      collect() { this.reset(); for (const [module, up] of self.#scrapeUp) this.set({ node, module }, up); },
    });
    new Counter({
      name: 'failsmall_agent_desired_entries_refused_total', help: 'Entries of the control plane\'s desired state this agent skipped as unusable (logged with the reason); the others were acted on.', labelNames: ['node'], registers,
      collect() { this.reset(); this.inc({ node }, self.#desiredRefused); },
    });
    new Gauge({
      name: 'failsmall_agent_seconds_since_contact', help: 'Seconds since the control plane last answered (stale reports show here).', labelNames: ['node'], registers,
      collect() { this.set({ node }, self.#lastContact === 0 ? -1 : (Date.now() - self.#lastContact) / 1000); },
    });
    return registry;
  }

  /** Serves /metrics on host:port (default loopback). Returns the server so the caller can close it. */
  async listen(hostPort: string): Promise<{ server: Server; url: string }> {
    const registry = await this.registry();
    const i = hostPort.lastIndexOf(':');
    const host = i > 0 ? hostPort.slice(0, i) : '127.0.0.1';
    const port = Number(i >= 0 ? hostPort.slice(i + 1) : hostPort);
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        void registry.metrics().then((text) => { res.writeHead(200, { 'content-type': registry.contentType }); res.end(text); });
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics\n');
      }
    });
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
    const addr = server.address();
    const actual = typeof addr === 'object' && addr ? addr.port : port;
    return { server, url: `http://${host}:${actual}/metrics` };
  }
}

const LATENCY_HISTOGRAM = 'failsmall_agent_request_duration_seconds';

/** `failsmall_agent_request_duration_seconds` as prom-client's registry reads a metric: cumulative buckets, sum and count per module. */
function latencyHistogram(node: string, requests: () => ReadonlyMap<string, { latency: { buckets: number[]; sum: number; count: number } }>) {
  const help = 'Request latency the modules reported (seconds), cumulative, on the shared latency buckets.';
  return {
    name: LATENCY_HISTOGRAM, help, type: 'histogram', aggregator: 'sum',
    reset() { /* the counts live in AgentMetrics */ },
    get() {
      const values: { metricName: string; labels: Record<string, string>; value: number }[] = [];
      for (const [module, m] of requests()) {
        let running = 0;
        LATENCY_BUCKETS_MS.forEach((le, i) => {
          running += m.latency.buckets[i] ?? 0;
          values.push({ metricName: `${LATENCY_HISTOGRAM}_bucket`, labels: { node, module, le: String(le / 1000) }, value: running });
        });
        values.push({ metricName: `${LATENCY_HISTOGRAM}_bucket`, labels: { node, module, le: '+Inf' }, value: m.latency.count });
        values.push({ metricName: `${LATENCY_HISTOGRAM}_sum`, labels: { node, module }, value: m.latency.sum / 1000 });
        values.push({ metricName: `${LATENCY_HISTOGRAM}_count`, labels: { node, module }, value: m.latency.count });
      }
      return Promise.resolve({ name: LATENCY_HISTOGRAM, help, type: 'histogram', aggregator: 'sum', values });
    },
  };
}
