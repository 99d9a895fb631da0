#!/usr/bin/env node
// The tour's application: a small "feature proxy" that scores each request for bots with the
// features in its feature file, as Cloudflare's proxy did on 18 November 2025. It knows nothing of
// failsmall. It keeps room for at most 200 features (preallocated, as that proxy did), but where
// that proxy panicked on a bigger file, this one refuses it and keeps the file it has.
//
//   node app.mjs --port 9201 [--rps 50]
//
// - POST /-/reload { "file": PATH, "version": V } (the agent's --reload-url): 200 takes the file,
//   422 refuses it with the reason (the agent then keeps serving its last known-good).
// - GET /metrics: http_requests_total{code} and http_request_duration_seconds, in Prometheus's
//   text format, which the agent scrapes (--scrape) for the error-rate gate.
// - Any other path is a request, scored and answered; --rps serves that many a second to itself.
//
// No dependencies (the Prometheus text is written by hand below), so the tour folder runs
// wherever it is copied, with node alone.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: { port: { type: 'string', default: '9201' }, host: { type: 'string', default: '127.0.0.1' }, rps: { type: 'string', default: '0' } } });

/** The proxy's limit: memory for this many features is set aside at start. */
const MAX_FEATURES = 200;
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

let features = []; // until the first file: no features, every request scored neutral
let version = 'built-in';
const requests = new Map(); // code → count
const buckets = new Array(BUCKETS.length).fill(0);
let durationSum = 0;
let durationCount = 0;

/** Checks a feature file; throws with the reason when the proxy cannot take it. */
function parseFeatures(text) {
  const parsed = JSON.parse(text);
  const list = parsed?.features;
  if (!Array.isArray(list)) throw new Error('a feature file is { "features": [ { "name": …, "weight": … } ] }');
  if (list.length > MAX_FEATURES) throw new Error(`${list.length} features, more than the ${MAX_FEATURES} this proxy has room for`);
  for (const f of list) if (typeof f?.name !== 'string' || typeof f?.weight !== 'number') throw new Error(`bad feature ${JSON.stringify(f)}`);
  return list;
}

/** One request: scored with the features (the work is simulated), counted, timed. */
function serve() {
  const code = 200;
  const seconds = 0.004 + features.length * 0.00005 * (0.5 + Math.random());
  requests.set(code, (requests.get(code) ?? 0) + 1);
  for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) buckets[i]++;
  durationSum += seconds;
  durationCount++;
  return code;
}

function metricsText() {
  const lines = ['# HELP http_requests_total Requests answered, by status code.', '# TYPE http_requests_total counter'];
  for (const [code, n] of requests) lines.push(`http_requests_total{code="${code}"} ${n}`);
  lines.push('# HELP http_request_duration_seconds Time to answer a request.', '# TYPE http_request_duration_seconds histogram');
  BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{le="${le}"} ${buckets[i]}`));
  lines.push(`http_request_duration_seconds_bucket{le="+Inf"} ${durationCount}`, `http_request_duration_seconds_sum ${durationSum}`, `http_request_duration_seconds_count ${durationCount}`);
  return `${lines.join('\n')}\n`;
}

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText());
    return;
  }
  if (req.url === '/-/reload' && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      try {
        const { file, version: v } = JSON.parse(body);
        features = parseFeatures(await readFile(file, 'utf8'));
        version = v ?? 'unknown';
        console.log(`features ${version}: ${features.length} loaded`);
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`features ${version} applied\n`);
      } catch (err) {
        console.log(`refused a feature file: ${err instanceof Error ? err.message : String(err)}; still serving ${version}`);
        res.writeHead(422, { 'content-type': 'text/plain' }).end(`refused: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
    return;
  }
  const code = serve();
  res.writeHead(code, { 'content-type': 'text/plain', 'x-features-version': version }).end('ok\n');
});

const rps = Number(opt.rps);
if (rps > 0) {
  // Ten ticks a second; the fraction left over carries to the next tick.
  let owed = 0;
  setInterval(() => { owed += rps / 10; for (; owed >= 1; owed--) serve(); }, 100).unref();
}
server.listen(Number(opt.port), opt.host, () => console.log(`feature proxy on http://${opt.host}:${opt.port} (metrics at /metrics, reload at POST /-/reload)`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
