#!/usr/bin/env node
// A small HTTP proxy that knows nothing of failsmall: it routes requests by path prefix to
// upstreams as its routes file says, and exposes the usual Prometheus metrics (prom-client):
// http_requests_total{method,route,code} and the histogram http_request_duration_seconds.
// A failsmall agent scrapes them (--scrape) and hands it each new routes file through
// POST /-/reload (--reload-url). A routes file that sends a prefix to an upstream that does not
// exist answers 502 for those requests, which only the error rate shows.
//
//   node examples/scrape-app/app.mjs --port 9101 [--rps 100] [--routes FILE]
//
// With --rps it serves that many requests a second to itself (70% /, 30% /api/…), so a demo
// needs no load generator; real requests to any path are routed and counted the same way.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Counter, Histogram, Registry } from 'prom-client';

const { values: opt } = parseArgs({ options: { port: { type: 'string', default: '9101' }, host: { type: 'string', default: '127.0.0.1' }, rps: { type: 'string', default: '0' }, routes: { type: 'string' } } });

/** The upstreams this proxy can reach, and how long each takes (median, ms). */
const UPSTREAMS = { web: 20, api: 45 };
let routes = [{ prefix: '/', upstream: 'web' }];
let version = 'built-in';

const registry = new Registry();
const requests = new Counter({ name: 'http_requests_total', help: 'Requests handled, by route and status code.', labelNames: ['method', 'route', 'code'], registers: [registry] });
const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'Time to answer a request.', labelNames: ['method', 'route', 'code'], registers: [registry] });

/** Checks a routes file; throws with the reason when it is not one. */
function parseRoutes(text) {
  const parsed = JSON.parse(text);
  if (!Array.isArray(parsed?.routes) || parsed.routes.length === 0) throw new Error('a routes file is { "routes": [ { "prefix": "/", "upstream": "web" } ] }');
  for (const r of parsed.routes) {
    if (typeof r?.prefix !== 'string' || !r.prefix.startsWith('/') || typeof r.upstream !== 'string') throw new Error(`bad route ${JSON.stringify(r)}`);
  }
  // Longest prefix first, as proxies match.
  return [...parsed.routes].sort((a, b) => b.prefix.length - a.prefix.length);
}

/** One request: its route, status and latency (simulated: the upstream is not called). */
function handle(path) {
  const route = routes.find((r) => path.startsWith(r.prefix));
  if (!route) return { route: 'none', code: 404, ms: 1 };
  const median = UPSTREAMS[route.upstream];
  if (median === undefined) return { route: route.prefix, code: 502, ms: 2 }; // no such upstream
  const z = Math.sqrt(-2 * Math.log(Math.random() || 1e-12)) * Math.cos(2 * Math.PI * Math.random());
  return { route: route.prefix, code: 200, ms: median * Math.exp(0.35 * z) };
}

function record(method, path) {
  const r = handle(path);
  const labels = { method, route: r.route, code: String(r.code) };
  requests.inc(labels);
  duration.observe(labels, r.ms / 1000);
  return r;
}

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    registry.metrics().then((text) => { res.writeHead(200, { 'content-type': registry.contentType }); res.end(text); });
    return;
  }
  if (req.url === '/-/reload' && req.method === 'POST') {
    // The agent's --reload-url: { artifact, version, file }. 2xx takes the file; anything else refuses it.
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      try {
        const { file, version: v } = JSON.parse(body);
        routes = parseRoutes(await readFile(file, 'utf8'));
        version = v ?? 'unknown';
        console.log(`routes ${version}: ${routes.map((r) => `${r.prefix} → ${r.upstream}`).join(', ')}`);
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`routes ${version} applied\n`);
      } catch (err) {
        res.writeHead(422, { 'content-type': 'text/plain' }).end(`refused: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
    return;
  }
  const r = record(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
  res.writeHead(r.code, { 'content-type': 'text/plain', 'x-routes-version': version }).end(r.code === 200 ? 'ok\n' : 'bad gateway\n');
});

if (opt.routes) routes = parseRoutes(await readFile(opt.routes, 'utf8'));
const rps = Number(opt.rps);
if (rps > 0) {
  // Ten ticks a second; the fraction left over carries to the next tick.
  let owed = 0;
  setInterval(() => {
    owed += rps / 10;
    for (; owed >= 1; owed--) record('GET', Math.random() < 0.7 ? '/' : `/api/items/${Math.floor(Math.random() * 100)}`);
  }, 100).unref();
}
server.listen(Number(opt.port), opt.host, () => {
  const addr = server.address();
  console.log(`scrape-app on http://${opt.host}:${typeof addr === 'object' && addr ? addr.port : opt.port} (metrics at /metrics, reload at POST /-/reload)`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
