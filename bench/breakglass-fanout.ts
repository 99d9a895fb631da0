/**
 * Break-glass at fleet scale, with the control plane down: how long `failsmall breakglass`
 * takes to verify (`drill`) and then to carry out `lkg` on N nodes, through the real CLI and
 * real agents' admin endpoints.
 *
 * Setup (untimed): a real control plane rolls v1 then v2 ("bad") to one agent; that agent's
 * directory (state, download cache, last known-good) is copied to N node directories and the
 * control plane is stopped. N agents then start on those directories with the control plane
 * unreachable, each with its break-glass admin endpoint on a unix socket. Timed: the real
 * `failsmall breakglass drill` and `failsmall breakglass lkg` processes, end to end (start,
 * inventory, signing, fan-out at --concurrency, the table), and each node's round trip.
 *
 * All N agents share this one process (one event loop, one core), where a fleet has a machine
 * per node: the agent side is serialised here, so the figures are an upper bound.
 *
 *   npm run bench:breakglass [-- --nodes 500 --concurrency 32 --json]
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '@failsmall/agent';
import { generateSigningKeys } from '@failsmall/core';
import { startServer } from '@failsmall/server';
import { argInt, hasFlag, machine, ms, summarize, type Summary } from './lib.ts';

const CLI = fileURLToPath(new URL('../packages/cli/bin/failsmall.js', import.meta.url));
const NODES = argInt('nodes', 500);
const CONCURRENCY = argInt('concurrency', 32);
const JSON_OUT = hasFlag('json');
const log = (m: string) => { if (!JSON_OUT) process.stderr.write(`${m}\n`); };

interface Run {
  readonly command: string;
  readonly wall_ms: number;
  readonly exit: number | null;
  readonly confirmed: number;
  readonly per_node_ms: Summary;
}

async function prototype(dir: string, keys: { artifactKey: string; artifactPub: string }): Promise<string> {
  const server = await startServer({ store: join(dir, 'fs.db'), port: 0, tickMs: 50, signingKeyFile: keys.artifactKey });
  const admin = server.adminToken ?? '';
  const api = async (method: string, path: string, body?: unknown, raw?: string) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': raw !== undefined ? 'application/octet-stream' : 'application/json' }, ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return res.json() as Promise<Record<string, unknown>>;
  };
  await api('POST', '/v1/apply', { text: [
    'modules: { bot-management: { on_load_failure: serve-stale } }',
    'artifacts: { features: { kind: feature-file, module: bot-management, policy: one } }',
    'policies: { one: { bake: 100ms, interval: 100ms, stages: [ { name: all, scope: 100% nodes, health_gates: [] } ] } }',
  ].join('\n') });
  const token = (await api('POST', '/v1/tokens', { name: 'bench', role: 'join' })).token as string;
  const protoDir = join(dir, 'proto');
  const agent = new Agent({ server: server.url, token, nodeId: 'proto', labels: {}, modules: ['bot-management'], dir: protoDir, publicKey: readFileSync(keys.artifactPub, 'utf8'), pollWaitMs: 1000, metricsIntervalMs: 200 });
  await agent.start();
  try {
    await until('the prototype agent to register', async () => ((await api('GET', '/v1/nodes')).nodes as unknown[]).length === 1);
    for (const [version, body] of [['v1', '["good"]'], ['v2', '["bad"]']] as const) {
      await api('POST', `/v1/artifacts/features/versions?version=${version}`, undefined, body);
      const r = await api('POST', '/v1/rollouts', { artifact: 'features', version });
      const id = (r.rollout as { id: string }).id;
      await until(`${version} to complete`, async () => ((await api('GET', `/v1/rollouts/${id}`)).rollout as { status: string }).status === 'completed');
    }
    await until('the prototype to serve v2', async () => agent.serving().features === 'v2');
  } finally {
    await agent.stop();
    await server.close();
  }
  rmSync(join(protoDir, '.node-credential'), { force: true });
  return protoDir;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the real CLI, and times it from spawn to exit. */
function cli(args: string[]): Promise<{ wall_ms: number; code: number | null; stdout: string; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    child.on('close', (code) => resolve({ wall_ms: performance.now() - started, code, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-bg-'));
  const agents: Agent[] = [];
  try {
    const artifact = generateSigningKeys();
    const breakglass = generateSigningKeys();
    const files = { artifactKey: join(dir, 'artifact.key'), artifactPub: join(dir, 'artifact.pub'), bgKey: join(dir, 'breakglass.key') };
    writeFileSync(files.artifactKey, artifact.privateKey, { mode: 0o600 });
    writeFileSync(files.artifactPub, artifact.publicKey);
    writeFileSync(files.bgKey, breakglass.privateKey, { mode: 0o600 });
    log('setup: a real control plane rolls v1 then v2 to a prototype agent …');
    const proto = await prototype(dir, files);

    log(`setup: ${NODES} node directories, ${NODES} agents with the control plane down …`);
    const inventory: string[] = ['nodes:'];
    for (let i = 0; i < NODES; i++) {
      const nodeDir = join(dir, `n${i}`);
      cpSync(proto, nodeDir, { recursive: true });
      const statePath = join(nodeDir, '.failsmall-agent.json');
      const state = JSON.parse(readFileSync(statePath, 'utf8')) as { node: string };
      writeFileSync(statePath, JSON.stringify({ ...state, node: `n${i}` }));
      const a = new Agent({
        server: 'http://127.0.0.1:9', token: 'fs_agent_unused', nodeId: `n${i}`, labels: {}, modules: ['bot-management'], dir: nodeDir,
        publicKey: artifact.publicKey, pollWaitMs: 30_000, metricsIntervalMs: 3_600_000, breakglass: { publicKey: breakglass.publicKey },
      });
      await a.start();
      agents.push(a);
      inventory.push(`  - { id: n${i}, admin: "unix:${join(nodeDir, '.breakglass', 'admin.sock')}" }`);
    }
    const inventoryFile = join(dir, 'inventory.yaml');
    writeFileSync(inventoryFile, `${inventory.join('\n')}\n`);
    if (agents.some((a) => a.serving().features !== 'v2')) throw new Error('setup: not every agent serves v2');

    const runs: Run[] = [];
    for (const action of ['drill', 'lkg'] as const) {
      log(`timed: failsmall breakglass ${action} features on ${NODES} nodes, --concurrency ${CONCURRENCY} …`);
      const r = await cli(['breakglass', action, 'features', '--inventory', inventoryFile, '--key', files.bgKey, '--operator', 'bench', '--reason', `bench ${action}`, '--concurrency', String(CONCURRENCY), '--timeout', '60s', '--json']);
      const out = JSON.parse(r.stdout) as { nodes: { outcome: string; ms: number }[] };
      runs.push({
        command: `failsmall breakglass ${action} features`, wall_ms: r.wall_ms, exit: r.code,
        confirmed: out.nodes.filter((n) => n.outcome === 'confirmed').length, per_node_ms: summarize(out.nodes.map((n) => n.ms)),
      });
    }
    const onV1 = agents.filter((a) => a.serving().features === 'v1').length;
    const result = { nodes: NODES, concurrency: CONCURRENCY, runs, nodes_serving_v1_after_lkg: onV1, machine: machine() };
    if (JSON_OUT) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`break-glass fan-out, ${NODES} nodes, --concurrency ${CONCURRENCY}, control plane down\n`);
      for (const r of runs) {
        process.stdout.write(`  ${r.command}: ${(r.wall_ms / 1000).toFixed(2)} s wall (exit ${r.exit}), ${r.confirmed}/${NODES} confirmed; per node p50 ${ms(r.per_node_ms.p50)} ms, p99 ${ms(r.per_node_ms.p99)} ms, max ${ms(r.per_node_ms.max)} ms\n`);
      }
      process.stdout.write(`  after lkg: ${onV1}/${NODES} agents serve v1\n`);
    }
    if (onV1 !== NODES || runs.some((r) => r.exit !== 0)) process.exitCode = 1;
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
