import { createServer, type Server } from 'node:http';
import { LATENCY_BUCKETS_MS } from '@failsmall/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The agent's own Prometheus metrics, labelled with its node id, so that a Prometheus that
 * scrapes every node can compare cohorts. One registry per agent: several agents may share
 * a process (the SDK, tests, the demo).
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #node: string;
  readonly #requests: Counter<'node' | 'module'>;
  readonly #errors: Counter<'node' | 'module'>;
  readonly #latency: Histogram<'node' | 'module'>;
  readonly #loads: Counter<'node' | 'artifact' | 'result' | 'stage'>;
  readonly #serving: Gauge<'node' | 'artifact' | 'version' | 'state'>;
  readonly #contact: Gauge<'node'>;
  #lastContact = 0;
  readonly #servingLabels = new Map<string, { node: string; artifact: string; version: string; state: string }>();

  constructor(node: string) {
    this.#node = node;
    const registers = [this.registry];
    this.#requests = new Counter({ name: 'failsmall_agent_requests_total', help: 'Requests a module handled.', labelNames: ['node', 'module'], registers });
    this.#errors = new Counter({ name: 'failsmall_agent_errors_total', help: 'Requests a module failed.', labelNames: ['node', 'module'], registers });
    this.#latency = new Histogram({ name: 'failsmall_agent_request_duration_ms', help: 'Request latency (ms).', labelNames: ['node', 'module'], buckets: [...LATENCY_BUCKETS_MS], registers });
    this.#loads = new Counter({ name: 'failsmall_agent_loads_total', help: 'Artifact loads by result (ok, refused) and stage (verify, validate, apply).', labelNames: ['node', 'artifact', 'result', 'stage'], registers });
    this.#serving = new Gauge({ name: 'failsmall_agent_serving', help: '1 for the version (and module state) each artifact is served at.', labelNames: ['node', 'artifact', 'version', 'state'], registers });
    const self = this;
    this.#contact = new Gauge({
      name: 'failsmall_agent_seconds_since_contact', help: 'Seconds since the control plane last answered (stale reports show here).', labelNames: ['node'], registers,
      collect() { this.set({ node: self.#node }, self.#lastContact === 0 ? -1 : (Date.now() - self.#lastContact) / 1000); },
    });
  }

  request(module: string, ok: boolean, latencyMs: number): void {
    this.#requests.inc({ node: this.#node, module });
    if (!ok) this.#errors.inc({ node: this.#node, module });
    this.#latency.observe({ node: this.#node, module }, latencyMs);
  }

  load(artifact: string, ok: boolean, stage: string): void {
    this.#loads.inc({ node: this.#node, artifact, result: ok ? 'ok' : 'refused', stage });
  }

  serving(artifact: string, version: string | null, state: string): void {
    const previous = this.#servingLabels.get(artifact);
    if (previous) this.#serving.remove(previous);
    const labels = { node: this.#node, artifact, version: version ?? '', state };
    this.#serving.set(labels, 1);
    this.#servingLabels.set(artifact, labels);
  }

  contact(): void {
    this.#lastContact = Date.now();
  }

  /** Serves /metrics on host:port (default loopback). Returns the server so the caller can close it. */
  async listen(hostPort: string): Promise<{ server: Server; url: string }> {
    const i = hostPort.lastIndexOf(':');
    const host = i > 0 ? hostPort.slice(0, i) : '127.0.0.1';
    const port = Number(i >= 0 ? hostPort.slice(i + 1) : hostPort);
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        void this.registry.metrics().then((text) => { res.writeHead(200, { 'content-type': this.registry.contentType }); res.end(text); });
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
