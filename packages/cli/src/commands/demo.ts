import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '@failsmall/agent';
import { countEntries, generateSigningKeys, type RolloutState, type Verdict } from '@failsmall/core';
import { startServer } from '@failsmall/server';
import { formatReport, parseScenario, simulate, type SimulationReport } from '@failsmall/sim';
import { ApiClient } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { syntheticTraffic } from '../traffic.ts';
import { watch } from '../live/watch.ts';

/**
 * The checkout's examples/ (from src/commands/ and from the bundle's dist/cli/ alike, four levels
 * up); an installed package has no checkout, so the build copies the demo's files into dist/examples/.
 */
function exampleFile(name: string): string {
  const checkout = fileURLToPath(new URL(`../../../../examples/${name}`, import.meta.url));
  return existsSync(checkout) ? checkout : fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
}

const DEMO_FILE = exampleFile('demo.yaml');
const SCENARIO_FILE = exampleFile('scenarios/nov18-oversized-feature-file.yaml');
const ARTIFACT = 'bot-management-feature-file';
/** How long the demo, at a terminal, waits for Enter before it starts the story: time to open the dashboard. */
const OPEN_DASHBOARD_WAIT_MS = 20_000;
/** The proxy preallocates room for this many features (18 November 2025: 200). */
const PROXY_FEATURE_LIMIT = 200;

export interface DemoOptions {
  once?: boolean;
  nodes?: string;
  port?: string;
  keep?: boolean;
}

export interface DemoRolloutOutcome {
  id: string;
  artifact: string;
  from_version: string | null;
  to_version: string;
  final_state: RolloutState['status'];
  stopped_at_stage: string | null;
  failing_verdict: Verdict | null;
  reason: string | null;
}

/**
 * `failsmall demo`: the 18 November 2025 story, contained. A control plane on a fresh
 * embedded SQLite store and a fleet of in-process agents on loopback HTTP; a good feature
 * file rolls out through canary → partial → global, then a doubled one is stopped at the
 * canary and rolled back. With --once it exits 0 only when both went as they should.
 */
export async function demo(opts: DemoOptions, out: Out): Promise<number> {
  const fleetSize = opts.nodes ? Number(opts.nodes) : 100;
  if (!Number.isInteger(fleetSize) || fleetSize < 1 || fleetSize > 2000) {
    process.stderr.write('error: --nodes must be an integer from 1 to 2000 [USAGE]\n');
    return EXIT.USAGE;
  }
  const t0 = Date.now();
  const say = (line: string) => out.line(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  const dir = join('.failsmall', `demo-${process.pid}-${t0}`);
  await mkdir(dir, { recursive: true });
  // A fresh signing key for the demo, outside the database: the server signs each push, agents verify.
  const keys = generateSigningKeys();
  await writeFile(join(dir, 'artifact.key'), keys.privateKey, { mode: 0o600 });
  // The demo tells its own story on stdout; the server's log would repeat it (a rollback is a warn line): errors only.
  const server = await startServer({ store: join(dir, 'failsmall.db'), port: opts.port ? Number(opts.port) : 0, tickMs: 100, signingKeyFile: join(dir, 'artifact.key'), log: 'error' });
  const admin = new ApiClient({ server: server.url, token: server.adminToken });
  const agents: Agent[] = [];
  let exit: number = EXIT.ROLLOUT_FAILED;
  try {
    say(`control plane on ${server.url}, embedded SQLite store at ${join(dir, 'failsmall.db')}`);
    say(`dashboard: ${dashboardLink(server.url, server.adminToken)} (open it to watch the story live)`);
    // At a terminal, a moment to open the link before the story runs (it takes about 10 s); never with --once, never piped.
    if (!opts.once && process.stdin.isTTY === true && process.stdout.isTTY === true) {
      say(`press Enter to start the story (it starts by itself in ${OPEN_DASHBOARD_WAIT_MS / 1000} s)`);
      await enterOrTimeout(OPEN_DASHBOARD_WAIT_MS);
    }
    const { token: agentToken } = await admin.post<{ token: string }>('/v1/tokens', { name: 'demo-fleet', role: 'join' });
    const applied = await admin.post<{ changes: { kind: string; name: string; change: string }[] }>('/v1/apply', { text: await readFile(DEMO_FILE, 'utf8'), file: 'examples/demo.yaml' });
    say(`applied examples/demo.yaml: ${applied.changes.map((c) => `${c.kind} ${c.name}`).join(', ')}`);

    for (let i = 0; i < fleetSize; i++) agents.push(demoAgent(server.url, agentToken, i, dir, keys.publicKey));
    await Promise.all(agents.map((a) => a.start()));
    await waitFor(async () => (await admin.get<{ nodes: unknown[] }>('/v1/nodes')).nodes.length >= fleetSize, 20_000, 'the demo fleet to register');
    say(`${fleetSize} agents registered over HTTP on loopback (regions eu/us/ap; tiers free/pro/enterprise)`);

    const good = featureFile(110);
    const bad = featureFile(110, true);
    await admin.postBytes(`/v1/artifacts/${ARTIFACT}/versions?version=v1`, good);
    await admin.postBytes(`/v1/artifacts/${ARTIFACT}/versions?version=v2`, bad);
    say(`pushed ${ARTIFACT} v1 (${countEntries(good)} features) and v2 (${countEntries(bad)} features: the generator's query returned every row twice)`);
    say(`the proxy preallocates ${PROXY_FEATURE_LIMIT} features; v2 makes it refuse the file, as FL2 panicked on 18 November 2025`);

    const outcomes: DemoRolloutOutcome[] = [];
    for (const version of ['v1', 'v2']) {
      out.line('');
      say(version === 'v1' ? 'rollout 1: the good file, v1' : 'rollout 2: the doubled file, v2');
      const { rollout } = await admin.post<{ rollout: RolloutState }>('/v1/rollouts', { artifact: ARTIFACT, version });
      await watch(admin, rollout.id, { json: true, line() {}, data() {} }, say);
      const { rollout: final } = await admin.get<{ rollout: RolloutState }>(`/v1/rollouts/${rollout.id}`);
      outcomes.push(outcomeOf(final));
    }

    const serving = agents.map((a) => a.serving()[ARTIFACT] ?? null);
    const onV1 = serving.filter((v) => v === 'v1').length;
    const [first, second] = outcomes;
    const asExpected = first?.final_state === 'completed' && second?.final_state === 'rolled_back' && second.stopped_at_stage === 'canary' && onV1 === fleetSize;
    exit = asExpected ? EXIT.OK : EXIT.ROLLOUT_FAILED;
    out.line('');
    say(`outcome: v1 ${first?.final_state}; v2 ${second?.final_state} at stage ${second?.stopped_at_stage ?? '-'}; ${onV1}/${fleetSize} nodes serve v1`);
    if (second?.failing_verdict) say(`the failing gate: ${second.failing_verdict.reason}`);
    say(asExpected
      ? `contained: v2 reached ${second?.stopped_at_stage} only, was refused by the agents there, and was rolled back automatically`
      : 'NOT as expected: see the lines above');
    // The same story at fleet scale, from the simulator: what a global push would have done.
    const simulation = await simulateStory();
    out.line('');
    say(`the same story at ${simulation.nodes.toLocaleString('en-US')} nodes for ${Math.round(simulation.duration_seconds / 60)} simulated minutes (failsmall simulate ${relative(process.cwd(), SCENARIO_FILE)}):`);
    out.line('');
    out.line(formatReport(simulation));
    out.data({ ok: asExpected, fleet_nodes: fleetSize, nodes_serving_v1: onV1, rollouts: outcomes, simulation });

    if (!opts.once) {
      out.line('');
      say('the control plane and the fleet keep running; try, in another terminal:');
      out.line(`  the dashboard: ${dashboardLink(server.url, server.adminToken)}`);
      out.line(`  export FAILSMALL_SERVER=${server.url} FAILSMALL_TOKEN=${server.adminToken ?? ''}`);
      out.line('  npx failsmall rollout status      npx failsmall nodes');
      out.line('  npx failsmall incident list       (the bad rollout\'s failed gate opened one: failsmall triage ID, failsmall postmortem ID)');
      out.line('press Ctrl-C to stop');
      await new Promise<void>((resolve) => { process.once('SIGINT', () => resolve()); process.once('SIGTERM', () => resolve()); });
    }
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await server.close();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
  return exit;
}

/**
 * The dashboard's login link: the token rides in the fragment, which the browser never sends; the
 * page moves it to session storage and off the address bar (docs/dashboard.md).
 */
function dashboardLink(url: string, token: string | undefined): string {
  return `${url}/${token ? `#token=${token}` : ''}`;
}

/** Resolves on the first line typed on stdin, or after `ms`; leaves stdin paused, so that it holds nothing open. */
function enterOrTimeout(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); process.stdin.off('data', done); process.stdin.pause(); resolve(); };
    const timer = setTimeout(done, ms);
    process.stdin.once('data', done);
    process.stdin.resume();
  });
}

async function simulateStory(): Promise<SimulationReport> {
  const parsed = parseScenario(await readFile(SCENARIO_FILE, 'utf8'), { file: SCENARIO_FILE });
  if (!parsed.ok) throw new Error(`the shipped scenario does not parse: ${parsed.errors.map((e) => e.message).join('; ')}`);
  return simulate(parsed.value);
}

function demoAgent(server: string, token: string, i: number, dir: string, publicKey: string): Agent {
  const regions = ['eu', 'us', 'ap'];
  const tiers = ['free', 'free', 'pro', 'enterprise'];
  const id = `node-${String(i + 1).padStart(3, '0')}`;
  return new Agent({
    server, token, nodeId: id, dir: join(dir, 'agents', id), publicKey,
    labels: { region: regions[i % regions.length] ?? 'eu', customer_tier: tiers[i % tiers.length] ?? 'free', proxy: i % 2 === 0 ? 'fl2' : 'fl1' },
    modules: ['bot-management', 'proxy'],
    metricsIntervalMs: 500,
    pollWaitMs: 30_000,
    // The module, in process: the proxy refuses a feature file it has no room for.
    callbacks: {
      'bot-management': async (path) => {
        const features = countEntries(await readFile(path));
        if (features > PROXY_FEATURE_LIMIT) throw new Error(`proxy refused the feature file: ${features} features > preallocated ${PROXY_FEATURE_LIMIT}`);
      },
    },
    onInterval: syntheticTraffic({ rps: 200, intervalMs: 500, errorRate: 0.0005, modules: ['proxy'], seed: id }),
  });
}

/** A bot-management feature file: a JSON array of features; `doubled` repeats every row, as the 18 November query did. */
function featureFile(features: number, doubled = false): Buffer {
  const rows = Array.from({ length: features }, (_, i) => ({ name: `feature_${String(i).padStart(3, '0')}`, type: 'Float64', weight: Number(((i * 37) % 100 / 100).toFixed(2)) }));
  return Buffer.from(JSON.stringify(doubled ? rows.flatMap((r) => [r, r]) : rows, null, 1));
}

function outcomeOf(r: RolloutState): DemoRolloutOutcome {
  return {
    id: r.id, artifact: r.artifact, from_version: r.from_version, to_version: r.to_version, final_state: r.status,
    stopped_at_stage: r.status === 'completed' ? null : (r.outcome?.stage ?? r.policy_spec.stages[r.stage_index]?.name ?? null),
    failing_verdict: r.outcome?.verdict ?? null, reason: r.outcome?.reason ?? null,
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
