/**
 * Figure 5: failsmall's gates and the peers' judges side by side, on the same seeded metric
 * streams simulated node by node (issue 10 part 2; docs/benchmarks.md, figure 5).
 *
 *   npm run bench:judges                      # readable table, with the issue's goals per stream
 *   npm run bench:judges -- --json            # {"interval_seconds", "streams": {...}} only
 *   npm run bench:judges -- --quick           # smaller sample, under a minute
 *   npm run bench:judges -- --held-out        # the held-out streams (bench/judges/held-out.ts) instead
 *   options: --interval 10 (s, multiple of 10; also report 60) --seed 26 --healthy 2000 (per
 *            stream, half at 1.0×, half at the allowance's edge) --runs 500 (per regression)
 *            --horizon 30 (min) --baseline-nodes 40 --workers 2 --streams a,b --judges a,b
 *            --meta (configuration, timing and machine as JSON on stderr)
 *
 * Streams: bench/judges/streams.ts (and held-out.ts). Judges: failsmall (bench/judges/failsmall.ts,
 * the real evaluateGate; its gate configuration is there, in one place), the peers as documented
 * and tuned (bench/judges/peers.ts, rules in rules.ts and kayenta.ts, with upstream citations),
 * and the SPRT oracle on the binomial stream. Runs are spread over worker threads (worker.ts).
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { argInt, argValue, hasFlag, machine, summarize } from './lib.ts';
import { FAILSMALL_GATE_CONFIG } from './judges/failsmall.ts';
import { HELD_OUT } from './judges/held-out.ts';
import { ARGO_DOCS, FLAGGER_DOCS, KAYENTA_DOCS, MAX_ERROR_TUNED, P99_HEALTHY_MS, P99_TUNED_MS, PEERS, type JudgeName } from './judges/peers.ts';
import { judgesFor, type Task, type TaskResult } from './judges/run.ts';
import { oracleLatencyBound } from './judges/rules.ts';
import { ALLOWED_LATENCY_SCALE, EDGE_ERROR, EDGE_LATENCY_SCALE, HEALTHY, REGRESSIONS, STEP_S, STREAMS, type StreamSpec } from './judges/streams.ts';

const quick = hasFlag('quick');
const json = hasFlag('json');
const heldOut = hasFlag('held-out');
const seed = argInt('seed', 26);
const intervalS = argInt('interval', 10);
if (intervalS % STEP_S !== 0) throw new Error(`--interval must be a multiple of ${STEP_S} s, got ${intervalS}`);
const healthyRuns = argInt('healthy', quick ? 100 : 2000);
if (healthyRuns % HEALTHY.length !== 0) throw new Error(`--healthy must be a multiple of ${HEALTHY.length}`);
const regressionRuns = argInt('runs', quick ? 30 : 500);
const horizonMin = argInt('horizon', 30);
/**
 * M, the baseline nodes simulated one by one. 40: the largest that keeps the full run within 10
 * minutes on 2 shared cores with the node-level gate as it stood on 2026-12-04 (its cost grows
 * with the nodes it is given at every look: ~1 ms per node per 30-minute run at a 10 s interval).
 * See docs/benchmarks.md, figure 5, "Model".
 */
const baselineNodes = argInt('baseline-nodes', 40);
const workers = argInt('workers', Math.max(1, Math.min(2, cpus().length)));
const steps = (horizonMin * 60) / STEP_S;
const intervalSteps = intervalS / STEP_S;
const DETECT_WITHIN_S = 600;
const ALL_JUDGES: readonly JudgeName[] = ['failsmall', 'oracle', ...PEERS];

const pool: readonly StreamSpec[] = heldOut ? HELD_OUT : STREAMS;
const streamFilter = argValue('streams')?.split(',').filter(Boolean);
const streams = streamFilter ? pool.filter((s) => streamFilter.includes(s.key)) : pool;
if (streamFilter && streams.length !== streamFilter.length) throw new Error(`--streams: unknown stream among ${streamFilter.join(', ')} (have ${pool.map((s) => s.key).join(', ')})`);
const judgeFilter = argValue('judges')?.split(',').filter(Boolean) as JudgeName[] | undefined;
for (const j of judgeFilter ?? []) if (!ALL_JUDGES.includes(j)) throw new Error(`--judges: unknown judge ${j}`);
const judges = judgeFilter ?? ALL_JUDGES;
for (const s of streams) if (s.canaryNodes > baselineNodes) throw new Error(`--baseline-nodes ${baselineNodes} < the ${s.canaryNodes} canary nodes of ${s.key} (Kayenta's same-size baseline needs as many)`);

// ── tasks, spread over worker threads ────────────────────────────────────────────────────────

const CHUNK = 10;
const tasks: Task[] = [];
for (const s of streams) {
  for (const sc of [...HEALTHY, ...REGRESSIONS]) {
    const runs = sc.healthy ? healthyRuns / HEALTHY.length : regressionRuns;
    for (let from = 0; from < runs; from += CHUNK) {
      tasks.push({ stream: s.key, scenario: sc.key, from, to: Math.min(runs, from + CHUNK), seed, intervalSteps, steps, baselineNodes, judges });
    }
  }
}
// Healthy runs (the longest: no judge stops early) first, so that the tail is short.
tasks.sort((a, b) => Number(b.scenario.startsWith('healthy')) - Number(a.scenario.startsWith('healthy')));

/** stream → judge → scenario → times by run. */
const outcomes = new Map<string, Map<string, Map<string, (number | null)[]>>>();
let lumpedReads = 0;

async function runAll(): Promise<void> {
  let next = 0;
  const one = () => new Promise<void>((resolve, reject) => {
    // tsx's loader is registered in the worker before the TypeScript entry is imported.
    const entry = new URL('./judges/worker.ts', import.meta.url).href;
    const w = new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
    const send = () => {
      const t = tasks[next++];
      if (!t) { void w.terminate().then(() => resolve()); return; }
      w.postMessage(t);
    };
    w.on('message', (m: { ok: true; result: TaskResult } | { ok: false; error: string }) => {
      if (!m.ok) { void w.terminate(); reject(new Error(m.error)); return; }
      record(m.result);
      send();
    });
    w.on('error', reject);
    send();
  });
  await Promise.all(Array.from({ length: workers }, one));
}

function record(r: TaskResult): void {
  lumpedReads += r.lumpedReads;
  let byJudge = outcomes.get(r.task.stream);
  if (!byJudge) outcomes.set(r.task.stream, (byJudge = new Map()));
  for (const [judge, times] of Object.entries(r.times)) {
    let byScenario = byJudge.get(judge);
    if (!byScenario) byJudge.set(judge, (byScenario = new Map()));
    let all = byScenario.get(r.task.scenario);
    if (!all) byScenario.set(r.task.scenario, (all = []));
    times.forEach((t, i) => { all[r.task.from + i] = t; });
  }
}

const t0 = performance.now();
await runAll();
const elapsedS = (performance.now() - t0) / 1000;

// ── figures ──────────────────────────────────────────────────────────────────────────────────

interface RegressionFigures { detect_median_seconds: number | null; detect_p95_seconds: number | null; detection_rate: number }
type JudgeFigures = { false_rollback_rate: number; false_rollback_upper95: number } & Record<string, number | RegressionFigures>;

/** One-sided 95% Clopper–Pearson upper bound on a rate, x of n: the p with P(X ≤ x | n, p) = 0.05. */
export function clopperPearsonUpper95(x: number, n: number): number {
  if (n === 0) return 1;
  if (x >= n) return 1;
  const logFact = [0];
  for (let i = 1; i <= n; i++) logFact.push((logFact[i - 1] ?? 0) + Math.log(i));
  const cdf = (p: number) => {
    let s = 0;
    for (let k = 0; k <= x; k++) s += Math.exp((logFact[n] ?? 0) - (logFact[k] ?? 0) - (logFact[n - k] ?? 0) + k * Math.log(p) + (n - k) * Math.log1p(-p));
    return s;
  };
  let lo = x / n, hi = 1;
  for (let i = 0; i < 100; i++) { const mid = (lo + hi) / 2; if (cdf(mid) > 0.05) lo = mid; else hi = mid; }
  return hi;
}

function figures(stream: string, judge: string): JudgeFigures {
  const by = outcomes.get(stream)?.get(judge);
  const healthy = HEALTHY.flatMap((h) => by?.get(h.key) ?? []);
  const falses = healthy.filter((t) => t !== null).length;
  const j: JudgeFigures = {
    false_rollback_rate: falses / Math.max(1, healthy.length),
    false_rollback_upper95: Number(clopperPearsonUpper95(falses, healthy.length).toPrecision(4)),
  };
  for (const sc of REGRESSIONS) {
    const times = by?.get(sc.key) ?? [];
    const detected = times.filter((t): t is number => t !== null);
    const s = summarize(detected);
    j[sc.key] = {
      detect_median_seconds: detected.length > 0 ? s.p50 : null,
      detect_p95_seconds: detected.length > 0 ? s.p95 : null,
      detection_rate: detected.filter((t) => t <= DETECT_WITHIN_S).length / Math.max(1, times.length),
    };
  }
  return j;
}

const result = {
  interval_seconds: intervalS,
  streams: Object.fromEntries(streams.map((s) => [s.key, {
    healthy_runs: healthyRuns,
    judges: Object.fromEntries(judgesFor(s, judges).map((j) => [j, figures(s.key, j)])),
  }])),
};

const reg = (j: JudgeFigures, key: string) => j[key] as RegressionFigures;

// ── the issue's goals, stream by stream ──────────────────────────────────────────────────────

function goals(stream: string, js: Record<string, JudgeFigures>): string[] {
  const out: string[] = [];
  const fs = js.failsmall;
  if (!fs) return ['failsmall not run: no goals'];
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const sec = (v: number | null) => (v === null ? 'never' : `${v} s`);
  out.push(`false rollbacks ≤ 0.1%: ${pct(fs.false_rollback_rate)} (upper95 ${pct(fs.false_rollback_upper95)}) → ${fs.false_rollback_rate <= 0.001 ? 'met' : `NOT met, by ${pct(fs.false_rollback_rate - 0.001)}`}`);
  const comparable = PEERS.filter((p) => js[p] && (js[p]?.false_rollback_rate ?? 1) <= 0.01);
  const excluded = PEERS.filter((p) => js[p] && !comparable.includes(p));
  for (const sc of REGRESSIONS) {
    const mine = reg(fs, sc.key);
    const lost: string[] = [];
    const won: string[] = [];
    for (const p of comparable) {
      const theirs = reg(js[p] as JudgeFigures, sc.key);
      const slower = theirs.detect_median_seconds !== null && (mine.detect_median_seconds === null || mine.detect_median_seconds > theirs.detect_median_seconds);
      const rarer = mine.detection_rate < theirs.detection_rate;
      const d = mine.detect_median_seconds !== null && theirs.detect_median_seconds !== null ? mine.detect_median_seconds - theirs.detect_median_seconds : null;
      const what = `${p} ${sec(theirs.detect_median_seconds)} ${pct(theirs.detection_rate)}`;
      if (slower || rarer) lost.push(`${what} (${slower ? (d === null ? 'failsmall never detects' : `failsmall +${d} s`) : ''}${slower && rarer ? ', ' : ''}${rarer ? `detects ${pct(theirs.detection_rate - mine.detection_rate)} more often` : ''})`);
      else won.push(`${what}${d === null ? '' : ` (${d} s)`}`);
    }
    out.push(`${sc.key}: failsmall median ${sec(mine.detect_median_seconds)}, ${pct(mine.detection_rate)} within 600 s; never slower nor rarer than a peer with ≤ 1% false rollbacks → ${lost.length === 0 ? 'met' : 'NOT met'}${lost.length ? `: ${lost.join('; ')}` : ''}${won.length ? ` | vs ${won.join('; ')}` : ''}`);
  }
  if (excluded.length) out.push(`(peers with > 1% false rollbacks here, not compared: ${excluded.map((p) => `${p} ${pct(js[p]?.false_rollback_rate ?? 0)}`).join(', ')})`);
  const or = js.oracle;
  if (or) {
    for (const key of ['error_1.5x', 'error_2x', 'error_10x']) {
      const a = reg(fs, key).detect_median_seconds, b = reg(or, key).detect_median_seconds;
      const ratio = a !== null && b !== null ? a / b : null;
      out.push(`${key}: median within 3× the oracle's: ${sec(a)} vs ${sec(b)} (${ratio === null ? 'n/a' : `${ratio.toFixed(2)}×`}) → ${ratio !== null && ratio <= 3 ? 'met' : 'NOT met'}`);
    }
  }
  for (const key of ['error_2x', 'error_10x', 'latency_p99_+20pct']) {
    const r = reg(fs, key).detection_rate;
    out.push(`${key}: detected within 600 s in ≥ 90% of runs: ${pct(r)} → ${r >= 0.9 ? 'met' : `NOT met, by ${pct(0.9 - r)}`}`);
  }
  return out;
}

// ── output ───────────────────────────────────────────────────────────────────────────────────

const lb = oracleLatencyBound(ALLOWED_LATENCY_SCALE, 1.2);
const meta = {
  seed, quick, held_out: heldOut, interval_seconds: intervalS, step_seconds: STEP_S, horizon_minutes: horizonMin, detect_within_seconds: DETECT_WITHIN_S,
  runs: { healthy_per_stream: healthyRuns, healthy_kinds: HEALTHY.map((h) => h.key), per_regression: regressionRuns },
  model: {
    baseline_nodes: baselineNodes, canary_nodes: Object.fromEntries(streams.map((s) => [s.key, s.canaryNodes])), rps_per_node: 100, baseline_error_rate: 0.001,
    healthy_edge: { error_multiplier: EDGE_ERROR, latency_scale: Number(EDGE_LATENCY_SCALE.toFixed(4)) },
    streams: Object.fromEntries(streams.map((s) => [s.key, s.description])),
    lumped_p99_reads: lumpedReads,
  },
  failsmall_gates: FAILSMALL_GATE_CONFIG,
  peers: {
    flagger: FLAGGER_DOCS, argo: ARGO_DOCS, kayenta: KAYENTA_DOCS,
    tuned: { interval_seconds: intervalS, max_error_rate: MAX_ERROR_TUNED, max_p99_ms: Number(P99_TUNED_MS.toFixed(2)), healthy_p99_reading_ms: Number(P99_HEALTHY_MS.toFixed(2)) },
  },
  oracle: { latency_bound_ms: lb.bound, shares: [Number(lb.p0.toPrecision(4)), Number(lb.p1.toPrecision(4))] },
  elapsed_seconds: Number(elapsedS.toFixed(1)), workers,
  machine: machine(),
};

if (hasFlag('meta')) process.stderr.write(`${JSON.stringify(meta)}\n`);
if (json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`bench:judges: ${streams.length} streams, ${tasks.length} batches, ${elapsedS.toFixed(1)} s on ${workers} workers\n`);
} else {
  const pct = (v: number) => `${(100 * v).toFixed(v === 0 || v >= 0.1 ? 1 : 2)}%`;
  const sec = (v: number | null) => (v === null ? '—' : `${v}s`);
  console.log(`judges side by side · ${heldOut ? 'HELD-OUT streams · ' : ''}seed ${seed} · interval ${intervalS}s · ${healthyRuns} healthy (½ at 1.0×, ½ at 1.15× errors and ×${EDGE_LATENCY_SCALE.toFixed(3)} latency), ${regressionRuns} per regression · ${horizonMin} min · M = ${baselineNodes} baseline nodes · ${elapsedS.toFixed(1)} s on ${workers} workers`);
  for (const s of streams) {
    const js = result.streams[s.key]?.judges ?? {};
    console.log(`\n── ${s.key} (${s.canaryNodes} canary nodes): ${s.description}`);
    const head = ['judge', 'false rb (1.0×/edge)', 'upper95', ...REGRESSIONS.map((r) => `${r.key} med/p95 (≤600s)`)];
    const rows = Object.entries(js).map(([n, j]) => {
      const by = outcomes.get(s.key)?.get(n);
      const kinds = HEALTHY.map((h) => { const t = by?.get(h.key) ?? []; return pct(t.filter((x) => x !== null).length / Math.max(1, t.length)); }).join('/');
      return [n, `${pct(j.false_rollback_rate)} (${kinds})`, pct(j.false_rollback_upper95), ...REGRESSIONS.map((r) => {
        const f = reg(j, r.key);
        return `${sec(f.detect_median_seconds)}/${sec(f.detect_p95_seconds)} (${pct(f.detection_rate)})`;
      })];
    });
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    for (const g of goals(s.key, js)) console.log(`  goal: ${g}`);
  }
  if (lumpedReads > 0) console.log(`\nwarning: ${lumpedReads} p99 readings fell in the lumped ≤ 25 ms bucket`);
}
