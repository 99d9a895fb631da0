/**
 * Notices survive a crash of the control plane: a real `failsmall serve` child process rolls a
 * bad version back while its webhook receiver is down, is killed with SIGKILL while the notices
 * wait for a retry, and is started again on the same store once the receiver is up. The receiver
 * gets each notice exactly once. The fleet is three in-process Agents talking real HTTP to it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { generateSigningKeys, type RolloutState } from '../packages/core/src/index.ts';
import { openStore } from '../packages/server/src/store/index.ts';
import { DECLARATIONS } from '../packages/server/test/fixtures.ts';
import { ids, listen } from '../packages/server/test/http-receiver.ts';
import { Api, Child, freePort, waitFor } from './helpers/procs.ts';

const SECRET = 'restart-test-secret-0123456789';
const NOTICES = ['incident.opened', 'rollout.rolled_back'];

test('a rollback notice pending against a down receiver survives a SIGKILL of serve and is delivered once after the restart', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-notify-restart-'));
  const keys = generateSigningKeys();
  await writeFile(join(dir, 'artifact.key'), keys.privateKey, { mode: 0o600 });
  const [port, hookPort] = [await freePort(), await freePort()];
  const storePath = join(dir, 'fs.db');
  const children: Child[] = [];
  const agents: Agent[] = [];
  const outbox = await openStore({ engine: 'sqlite', path: storePath }); // read beside the server, as an operator would
  t.after(async () => {
    for (const a of agents) await a.stop();
    for (const c of children) await c.stop();
    await outbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** `failsmall serve --json` on the same store and port each time; resolves to its `{ url, admin_token }` line. */
  async function serve(): Promise<{ url: string; admin_token: string | null }> {
    const child = new Child(['serve', '--store', storePath, '--port', String(port), '--json', '--tick-ms', '50', '--signing-key', join(dir, 'artifact.key'),
      '--notify-webhook', `http://127.0.0.1:${hookPort}/hook`, '--notify-secret', SECRET]);
    children.push(child);
    return waitFor('serve to print its address', () => {
      if (!child.running) throw new Error('serve exited');
      const line = child.stdout.trim();
      return line ? JSON.parse(line) as { url: string; admin_token: string | null } : undefined;
    }, { last: () => child.describe() });
  }

  const first = await serve();
  const api = new Api(first.url, first.admin_token ?? '');
  const token = (await api.post<{ token: string }>('/v1/tokens', { name: 'fleet', role: 'join' })).token;
  await api.post('/v1/apply', { text: DECLARATIONS });
  await api.postBytes('/v1/artifacts/features/versions?version=v1', Buffer.from('["one"]'));
  // 300 entries where the artifact allows 200: every node refuses v2, and the canary gate fails.
  await api.postBytes('/v1/artifacts/features/versions?version=v2&force=true', Buffer.from(JSON.stringify(Array.from({ length: 300 }, (_, i) => `e${i}`))));
  for (const id of ['n1', 'n2', 'n3']) {
    const a = new Agent({ server: first.url, token, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(dir, id), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: keys.publicKey });
    agents.push(a);
    await a.start();
  }
  const status = async (id: string) => (await api.get<{ rollout: RolloutState }>(`/v1/rollouts/${id}`)).rollout.status;
  const v1 = (await api.post<{ rollout: RolloutState }>('/v1/rollouts', { artifact: 'features', version: 'v1' })).rollout.id;
  await waitFor('v1 to complete', async () => (await status(v1)) === 'completed');
  const v2 = (await api.post<{ rollout: RolloutState }>('/v1/rollouts', { artifact: 'features', version: 'v2' })).rollout.id;
  await waitFor('v2 to roll back', async () => (await status(v2)) === 'rolled_back', { timeoutMs: 60_000 });

  // The receiver is down: the notices wait in the outbox, in order, behind a first one that is being retried.
  const pending = await waitFor('the rollback and incident notices pending, the first after a failed attempt', async () => {
    const rows = (await outbox.outbox.pending()).filter((r) => NOTICES.includes(r.kind));
    return NOTICES.every((k) => rows.some((r) => r.kind === k)) && rows.some((r) => r.attempts >= 1) ? rows : undefined;
  }, { timeoutMs: 60_000 });
  const wanted = pending.map((r) => r.event_id);

  const killed = children[0];
  assert.ok(killed);
  killed.proc.kill('SIGKILL');
  assert.equal((await killed.exited).signal, 'SIGKILL');

  const hook = await listen(hookPort); // the receiver comes back
  t.after(() => hook.close());
  await serve();
  await waitFor('the notices delivered after the restart', async () => {
    const delivered = new Set((await outbox.outbox.list({ state: 'delivered' })).map((r) => r.event_id));
    return wanted.every((id) => delivered.has(id) && ids(hook.got).includes(id)) || undefined;
  }, { timeoutMs: 90_000, last: () => `${JSON.stringify(ids(hook.got))}\n${children[1]?.describe() ?? ''}` });
  for (const id of wanted) assert.equal(ids(hook.got).filter((x) => x === id).length, 1, `${id} delivered once`);
  const kinds = hook.got.filter((r) => wanted.includes(String(r.headers['x-failsmall-delivery']))).map((r) => String(r.headers['x-failsmall-event']));
  assert.deepEqual([...new Set(kinds)].sort(), NOTICES);
  assert.equal(new Set(ids(hook.got)).size, hook.got.length, 'no notice delivered twice');
});
