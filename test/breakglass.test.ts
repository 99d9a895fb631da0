import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSigningKeys } from '@failsmall/core';
import { DECLARATIONS } from '../packages/server/test/fixtures.ts';
import { Api, type Child, freePort, HttpError, REPO_ROOT, runCli, startServe, waitFor } from './helpers/procs.ts';

const AGENT_BIN = join(REPO_ROOT, 'packages/cli/bin/failsmall-agent.js');
const FLEET = 50;

/**
 * The issue's break-glass drill, with real processes: 50 agents serve a bad version; the control
 * plane is killed and its database deleted; `failsmall breakglass lkg` returns every node to the
 * known-good version, straight to the agents; every node confirms; and a control plane rebuilt on
 * an empty database learns the pins and does not undo them.
 */
test('break-glass returns 50 agents to the known-good version with the control plane dead and its database gone', { timeout: 480_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-breakglass-'));
  const agents: AgentProc[] = [];
  let server: Child | undefined;
  t.after(async () => {
    await Promise.all(agents.map((a) => a.stop(1000)));
    await server?.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });
  const artifactKeys = generateSigningKeys();
  const breakglassKeys = generateSigningKeys();
  for (const [name, pem] of [['artifact.key', artifactKeys.privateKey], ['artifact.pub', artifactKeys.publicKey], ['breakglass.key', breakglassKeys.privateKey], ['breakglass.pub', breakglassKeys.publicKey]] as const) {
    writeFileSync(join(dir, name), pem, { mode: 0o600 });
  }
  const db = join(dir, 'failsmall.db');
  const port = await freePort();
  const first = await startServe({ store: db, port, signingKey: join(dir, 'artifact.key') });
  server = first.child;
  const api = new Api(first.url, first.adminToken as string);
  const agentToken = (await api.post<{ token: string }>('/v1/tokens', { name: 'fleet', role: 'join' })).token;
  writeFileSync(join(dir, 'agent.token'), agentToken);
  await api.post('/v1/apply', { text: DECLARATIONS });
  await api.postBytes('/v1/artifacts/features/versions?version=v1', Buffer.from('["good"]'));
  await api.postBytes('/v1/artifacts/features/versions?version=v2', Buffer.from('["bad"]'));

  // 50 agent processes (the lean fleet binary), each with its admin endpoint on loopback.
  const ports: number[] = [];
  for (let i = 0; i < FLEET; i++) ports.push(await freePort());
  const inventory = ['nodes:', ...ports.map((p, i) => `  - { id: n${i}, admin: "127.0.0.1:${p}", labels: { half: "${i % 2}" } }`)].join('\n');
  writeFileSync(join(dir, 'inventory.yaml'), `${inventory}\n`);
  for (let i = 0; i < FLEET; i++) {
    agents.push(new AgentProc(['--server', first.url, '--token', agentToken, '--node-id', `n${i}`, '--dir', join(dir, `agent-${i}`),
      '--public-key', join(dir, 'artifact.pub'), '--breakglass-public-key', join(dir, 'breakglass.pub'), '--admin-listen', `127.0.0.1:${ports[i]}`,
      '--modules', 'bot-management', '--poll-wait', '2000', '--metrics-interval', '300']));
  }
  let registered = new Set<string>();
  await waitFor('50 agents to register', async () => {
    registered = new Set((await api.get<{ nodes: { id: string }[] }>('/v1/nodes')).nodes.map((n) => n.id));
    return registered.size === FLEET;
  }, {
    // Fifty processes start on a 2-core machine that may be running another suite: generous, and when it fails, say why.
    timeoutMs: 240_000,
    last: () => `${registered.size} registered; the first missing agent's stderr:\n${agents.find((_, i) => !registered.has(`n${i}`))?.stderr ?? '-'}`,
  });
  for (const version of ['v1', 'v2']) {
    const r = await api.post<{ rollout: { id: string } }>('/v1/rollouts', { artifact: 'features', version });
    await waitFor(`${version} to reach every node`, async () => (await api.get<{ rollout: { status: string } }>(`/v1/rollouts/${r.rollout.id}`)).rollout.status === 'completed', { timeoutMs: 120_000 });
  }
  await waitFor('every node to serve v2', () => agents.every((_, i) => readServed(dir, i) === '["bad"]'), { timeoutMs: 60_000 });

  // The control plane dies, and its database with it.
  process.kill(server.pid, 'SIGKILL');
  await server.exited;
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  assert.equal(existsSync(db), false);

  const run = await runCli(['breakglass', 'lkg', 'features', '--inventory', join(dir, 'inventory.yaml'), '--key', join(dir, 'breakglass.key'),
    '--operator', 'alice', '--reason', 'v2 feature file crashes the proxy', '--concurrency', '16', '--json'], { timeoutMs: 120_000 });
  assert.equal(run.code, 0, `breakglass exit code\n${run.stdout}\n${run.stderr}`);
  const out = JSON.parse(run.stdout) as { ok: boolean; confirmed: number; total: number; nodes: { node: string; outcome: string; result: { artifact: string; serving: string | null }[] }[] };
  assert.equal(out.confirmed, FLEET, 'every node confirmed');
  assert.equal(out.total, FLEET);
  for (const n of out.nodes) assert.deepEqual(n.result.map((r) => [r.artifact, r.serving]), [['features', 'v1']], n.node);
  for (let i = 0; i < FLEET; i++) {
    assert.equal(readServed(dir, i), '["good"]', `n${i} serves v1 on disk`);
    const log = readFileSync(join(dir, `agent-${i}`, '.breakglass', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(log.map((e) => [e.outcome, e.action, e.operator, e.target]), [['applied', 'lkg', 'alice', 'features']], `n${i}'s local log`);
  }

  // The same signed bytes again are refused; a command for the wrong node too.
  const status = await runCli(['breakglass', 'status', '--inventory', join(dir, 'inventory.yaml'), '--where', 'half=0', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const st = JSON.parse(status.stdout) as { nodes: { node: string; pins: { artifact: string; version: string }[] }[] };
  assert.equal(st.nodes.length, FLEET / 2);
  assert.ok(st.nodes.every((n) => n.pins.length === 1 && n.pins[0]?.version === 'v1'), 'status asks the agents directly');

  // A control plane rebuilt on an empty database: the fleet's token is re-enrolled, the agents come back on their own.
  const second = await startServe({ store: db, port, signingKey: join(dir, 'artifact.key') });
  server = second.child;
  const api2 = new Api(second.url, second.adminToken as string);
  const enrol = await runCli(['token', 'create', '--server', second.url, '--token', second.adminToken as string, '--name', 'fleet', '--role', 'join', '--existing', join(dir, 'agent.token'), '--json']);
  assert.equal(enrol.code, 0, enrol.stderr);
  await waitFor('the rebuilt control plane to show all 50 pins', async () => {
    const nodes = (await api2.get<{ nodes: { pins: { artifact: string; version: string; operator: string }[] }[] }>('/v1/nodes')).nodes;
    return nodes.length === FLEET && nodes.every((n) => n.pins.length === 1 && n.pins[0]?.version === 'v1' && n.pins[0].operator === 'alice');
  }, { timeoutMs: 60_000 });
  await waitFor('every node to report its break-glass log', async () => (await api2.get<{ entries: unknown[] }>('/v1/breakglass')).entries.length === FLEET, { timeoutMs: 30_000 });
  const audit = await api2.get<{ entries: { node_id: string; action: string; reason: string }[] }>('/v1/breakglass');
  assert.equal(audit.entries.length, FLEET);
  assert.ok(audit.entries.every((e) => e.action === 'lkg'));

  // It does not undo them: a rollout of v2 on the rebuilt control plane finds no node to move.
  await api2.post('/v1/apply', { text: DECLARATIONS });
  await api2.postBytes('/v1/artifacts/features/versions?version=v2', Buffer.from('["bad"]'));
  const attempt = await api2.post<{ rollout: { id: string; assigned: string[] } }>('/v1/rollouts', { artifact: 'features', version: 'v2' }).catch((err: HttpError) => err);
  if (!(attempt instanceof HttpError)) assert.deepEqual(attempt.rollout.assigned, [], 'no pinned node may be assigned');
  else assert.equal(attempt.status, 409, attempt.message);
  // Not a sleep: every agent answers its admin endpoint with how many desired states it has acted
  // on; wait until each has had two more from the rebuilt control plane. They must not move.
  const polls = async () => {
    const st = await runCli(['breakglass', 'status', '--inventory', join(dir, 'inventory.yaml'), '--json'], { timeoutMs: 60_000 });
    assert.equal(st.code, 0, st.stderr);
    return new Map((JSON.parse(st.stdout) as { nodes: { node: string; polls: number | null }[] }).nodes.map((n) => [n.node, n.polls ?? -1]));
  };
  const before = await polls();
  await waitFor('two more polls on every agent', async () => { const now = await polls(); return [...before].every(([n, p]) => (now.get(n) ?? -1) >= p + 2); }, { timeoutMs: 60_000 });
  for (let i = 0; i < FLEET; i++) assert.equal(readServed(dir, i), '["good"]', `n${i} still serves v1`);
  const listing = await runCli(['nodes', '--server', second.url, '--token', second.adminToken as string]);
  assert.match(listing.stdout, /50 nodes, 50 pinned by break-glass/);
});

function readServed(dir: string, i: number): string | undefined {
  try { return readFileSync(join(dir, `agent-${i}`, 'features'), 'utf8'); } catch { return undefined; }
}

/** One agent process of the bundled fleet binary, as nodes run it. */
class AgentProc {
  readonly #proc: ReturnType<typeof spawn>;
  readonly #exited: Promise<void>;
  stderr = '';
  constructor(args: string[]) {
    this.#proc = spawn(process.execPath, ['--expose-gc', AGENT_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    this.#proc.stderr?.setEncoding('utf8');
    this.#proc.stderr?.on('data', (d: string) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.#exited = new Promise((resolve) => this.#proc.once('close', () => resolve()));
  }

  async stop(graceMs = 1000): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
