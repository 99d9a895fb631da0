import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { call, DECLARATIONS, testServer, waitFor } from '../packages/server/test/fixtures.ts';
import { freePort, REPO_ROOT } from './helpers/procs.ts';
import { TestPrometheus } from './helpers/prometheus.ts';

/**
 * The metrics an operator graphs (issue 14): a real Prometheus scrapes the control plane and four
 * real agents through a rollout that completes and one that rolls back; the counters and
 * histograms moved, promtool finds nothing wrong with their names, and every query of the
 * Grafana dashboard in examples/grafana/ parses in Prometheus and names only metrics that exist.
 */

const PROMTOOL = '/usr/bin/promtool';
const DASHBOARD = join(REPO_ROOT, 'examples/grafana/failsmall.json');
/**
 * promtool's complaints about prom-client's own default Node metrics (gauges it names `_total`):
 * they are prom-client's names, which its users' dashboards expect, not ours to rename.
 */
const PROM_CLIENT_DEFAULTS = /^failsmall_server_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
/** Dashboard queries with no data in this run, and why: every other one must return some. */
const EMPTY_HERE: Readonly<Record<string, string>> = {
  'Application scrapes failing': 'no module here is scraped from an application',
  'Active rollouts\' stage': 'both rollouts have ended',
};

interface Target { readonly expr: string }
interface Panel { readonly id: number; readonly type: string; readonly title: string; readonly gridPos: { h: number; w: number; x: number; y: number }; readonly datasource?: { type: string; uid: string }; readonly targets?: readonly (Target & { refId: string })[] }
interface Dashboard { readonly uid: string; readonly title: string; readonly schemaVersion: number; readonly templating: { list: { name: string; type: string; query?: string }[] }; readonly panels: readonly Panel[] }

test('a real Prometheus sees rollouts, stages, gates, rollbacks, incidents, propagation and store latency move, and every dashboard query works', { timeout: 240_000 }, async (t) => {
  const prometheus = await TestPrometheus.start({ targets: [] });
  t.after(async () => { await prometheus.cleanup(); });
  const s = await testServer();
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const targets = [new URL(s.url).host, ...ports.map((p) => `127.0.0.1:${p}`)];
  await prometheus.setTargets(targets);

  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  for (const [i, port] of ports.entries()) {
    agents.push(new Agent({
      server: s.url, token, nodeId: `m${i}`, labels: {}, modules: ['bot-management'], publicKey: s.publicKey, dir: join(s.dir, `agent-${i}`),
      metricsListen: `127.0.0.1:${port}`, metricsIntervalMs: 200, pollWaitMs: 2000,
      onInterval: (a) => { for (let r = 0; r < 20; r++) a.meter('bot-management').request(true, 3 + r); },
      callbacks: { 'bot-management': (_path, req) => { if (req.content?.includes('BAD')) throw new Error('module refused BAD'); } },
    }));
  }
  await Promise.all(agents.map((a) => a.start()));
  await prometheus.waitForTargetsUp(targets);
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["good"]' });
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '["BAD"]' });
  const finish = async (version: string) => {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return waitFor(`the rollout of ${version} to end`, async () => {
      const st = (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout;
      return ['completed', 'rolled_back', 'aborted', 'paused'].includes(st.status) ? st : undefined;
    }, 60_000);
  };
  assert.equal((await finish('v1')).status, 'completed');
  assert.equal((await finish('v2')).status, 'rolled_back');

  // What Prometheus itself parsed from the scrapes: one value per query, once the last moves are in.
  const value = async (q: string) => {
    const r = await query(prometheus.url, q);
    return r.length === 0 ? 0 : Number(r[0]?.value[1]);
  };
  const moved = async (what: string, q: string, atLeast: number) => {
    const v = await waitFor(`${what} (${q}) to reach ${atLeast} in Prometheus`, async () => { const n = await value(q); return n >= atLeast ? n : undefined; }, 30_000);
    assert.ok(v >= atLeast);
    return v;
  };
  await moved('the completed rollout', 'sum(failsmall_rollouts{status="completed"})', 1);
  await moved('the rolled-back rollout', 'sum(failsmall_rollouts{status="rolled_back"})', 1);
  await moved('the canary promoted', 'sum(failsmall_rollout_stage_duration_seconds_count{stage="canary",outcome="promoted"})', 1);
  await moved('the last stage completed', 'sum(failsmall_rollout_stage_duration_seconds_count{stage="global",outcome="completed"})', 1);
  await moved('the canary rolled back', 'sum(failsmall_rollout_stage_duration_seconds_count{stage="canary",outcome="rolled_back"})', 1);
  await moved('passing verdicts', 'sum(failsmall_gate_verdicts_total{gate="bot-management/load_success_rate",outcome="pass"})', 1);
  await moved('the failed verdict', 'sum(failsmall_gate_verdicts_total{gate="bot-management/load_success_rate",outcome="fail"})', 1);
  assert.equal(await moved('the rollback', 'sum(failsmall_rollbacks_total{cause="gate"})', 1), 1, 'one rollback, counted once');
  await moved('the transitions', 'sum(failsmall_rollout_transitions_total{event="rollout.started"})', 2);
  await moved('the incident the rollback opened', 'sum(failsmall_incidents_total)', 1);
  await moved('four nodes taking v1 up', 'sum(failsmall_propagation_lag_seconds_count)', 4);
  await moved('timed store calls', 'sum(failsmall_store_operation_duration_seconds_count{op="transitionRollout"})', 1);
  await moved('the agents\' latency histogram', 'sum(failsmall_agent_request_duration_seconds_count)', 1);
  const lag = await value('max(failsmall_propagation_lag_seconds_sum / failsmall_propagation_lag_seconds_count)');
  assert.ok(lag > 0 && lag < 30, `mean propagation lag ${lag} s`);

  // promtool lints both expositions for Prometheus's naming conventions (`_seconds`, `_total`, …).
  const serverText = await (await fetch(`${s.url}/metrics`)).text();
  const agentText = await (await fetch(`http://127.0.0.1:${ports[0]}/metrics`)).text();
  for (const [who, text] of [['server', serverText], ['agent', agentText]] as const) {
    const problems = promtoolProblems(text).filter((p) => !PROM_CLIENT_DEFAULTS.test(p));
    assert.deepEqual(problems, [], `promtool check metrics on the ${who}'s /metrics`);
    assert.doesNotMatch(text, /^# TYPE \S*_ms(_\w+)? /m, `no _ms name on the ${who}`);
  }

  // The dashboard: its shape, then every query against this Prometheus.
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  assert.deepEqual(dashboardShapeProblems(dashboard), []);
  const families = new Set([...serverText.matchAll(/^# TYPE (\S+) /gm), ...agentText.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      for (const name of target.expr.match(/\bfailsmall_\w+/g) ?? []) {
        assert.ok(families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, '')), `panel "${panel.title}" names ${name}, which neither the server nor an agent exports`);
      }
      // A counter's increase needs two scrapes of it: a panel may wait a few seconds for its data.
      const expected = !(panel.title in EMPTY_HERE);
      await waitFor(`panel "${panel.title}" to show data (${target.expr})`, async () => {
        const result = await query(prometheus.url, asPrometheusQuery(target.expr), `panel "${panel.title}"`);
        return result.length > 0 || !expected;
      }, 15_000);
    }
  }
});

/** Grafana's own variables, as a dashboard's query has them for the time range picked. */
function asPrometheusQuery(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '10m').replaceAll('$__interval', '15s');
}

/** An instant query; an error (a query Prometheus cannot parse or run) fails the test, naming it. */
async function query(base: string, q: string, what = q): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: q })}`, { signal: AbortSignal.timeout(10_000) });
  const body = await res.json() as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
  assert.equal(body.status, 'success', `${what}: Prometheus refused ${q}: ${body.error ?? ''}`);
  return body.data?.resultType === 'vector' ? body.data.result : [];
}

/** promtool check metrics' complaints, one a line (none: the exposition is clean). */
function promtoolProblems(text: string): string[] {
  assert.ok(existsSync(PROMTOOL), `${PROMTOOL} is missing: apt-get install -y prometheus`);
  try {
    execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return [];
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  }
}

const PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'table', 'bargauge', 'gauge']);

/**
 * What Grafana needs to import the dashboard and draw every panel: neither Debian nor npm has a
 * Grafana or a JSON Schema of its dashboards (docs/operations.md#the-grafana-dashboard), so the
 * model's rules are checked here: unique ids, a 24-column grid without overlaps, known panel
 * types, each panel on the `datasource` variable, each target with its own refId and a query.
 */
function dashboardShapeProblems(d: Dashboard): string[] {
  const problems: string[] = [];
  if (!d.uid || !d.title || typeof d.schemaVersion !== 'number') problems.push('uid, title and schemaVersion are required');
  if (!d.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource' && v.query === 'prometheus')) problems.push('no datasource variable of type prometheus');
  const ids = new Set<number>();
  const cells = new Set<string>();
  for (const p of d.panels) {
    if (ids.has(p.id)) problems.push(`panel id ${p.id} repeated`);
    ids.add(p.id);
    if (!PANEL_TYPES.has(p.type)) problems.push(`panel "${p.title}": unknown type ${p.type}`);
    const g = p.gridPos;
    if (g.w < 1 || g.x < 0 || g.x + g.w > 24 || g.h < 1) problems.push(`panel "${p.title}": gridPos ${JSON.stringify(g)} is off the 24-column grid`);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        if (cells.has(`${x},${y}`)) problems.push(`panel "${p.title}" overlaps another at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
    if (p.type === 'row') continue;
    if (p.datasource?.type !== 'prometheus' || p.datasource.uid !== '${datasource}') problems.push(`panel "${p.title}" is not on the datasource variable`);
    const refIds = (p.targets ?? []).map((t) => t.refId);
    if (refIds.length === 0 || new Set(refIds).size !== refIds.length || (p.targets ?? []).some((t) => !t.expr)) problems.push(`panel "${p.title}": targets need a query and their own refId`);
  }
  return [...new Set(problems)];
}
