/**
 * Inject a fault (SIGKILL a control-plane process, restart PostgreSQL) at random moments across
 * a run of rollouts, and read what survived: every rollout ends completed (a good version) or rolled back (a bad one), every node
 * converges on the version it should serve, no transition is lost or doubled, the hash chain
 * verifies, and no stage promoted on bake time nobody watched. Used by the scripts in
 * bench/chaos/ at full size and by their slices in `npm test`.
 */
import { TERMINAL_STATUSES, type RolloutState } from '@failsmall/core';
import { seededRandom, sleep, waitFor } from '../../test/helpers/procs.ts';
import { BAKE_MS, INTERVAL_MS, STAGES, type ChaosCluster, type Replica } from './cluster.ts';
import { logViolations, type Blind } from './invariants.ts';

export interface FaultPlan {
  readonly rollouts: number;
  /** How many faults, spread over the rollouts at random. */
  readonly faults: number;
  /** What to do at each moment: SIGKILL a control-plane process unless told otherwise. */
  readonly fault?: Fault;
  readonly seed: number;
  /** Share of versions that are bad (their module refuses them); never the first. */
  readonly badShare?: number;
  /** A fault comes at most this long after the rollout started or the last recovery. */
  readonly maxDelayMs?: number;
  /** What a fault takes down stays down between 200 ms and this long. */
  readonly maxDownMs?: number;
  readonly log?: (line: string) => void;
}

export interface FaultRecord {
  readonly rollout: string;
  /** What was done: `kill replica 1`, `restart postgres`. */
  readonly what: string;
  /** Whether it blinded the process holding the rollout's lease (always, with one process or the database). */
  readonly holder: boolean;
  /** What the rollout was doing as the fault came, through the API just before it. */
  readonly seen: string;
  readonly down_ms: number;
}

/** One fault at this moment: what it did, and the span it certainly left the rollout unwatched. */
export type Fault = (c: ChaosCluster, rolloutId: string, random: () => number, maxDownMs: number) => Promise<{ record: FaultRecord; window: Blind | undefined }>;

export interface RolloutRecord {
  readonly id: string;
  readonly version: string;
  readonly bad: boolean;
  readonly status: string;
  readonly faults: number;
  readonly events: number;
  readonly ms: number;
  readonly violations: readonly string[];
}

export interface FaultReport {
  readonly engine: string;
  readonly replicas: number;
  readonly agents: number;
  readonly seed: number;
  readonly rollouts: readonly RolloutRecord[];
  readonly faults: readonly FaultRecord[];
  readonly chain_ok: boolean;
  /** Every violation, each prefixed with its rollout: empty when the run survived. */
  readonly violations: readonly string[];
}

export async function faultsDuringRollouts(c: ChaosCluster, plan: FaultPlan): Promise<FaultReport> {
  const random = seededRandom(plan.seed);
  const log = plan.log ?? (() => {});
  const perRollout = Array.from({ length: plan.rollouts }, () => 0);
  for (let k = 0; k < plan.faults; k++) perRollout[Math.floor(random() * plan.rollouts)]!++;
  const rollouts: RolloutRecord[] = [];
  const faults: FaultRecord[] = [];
  const fault = plan.fault ?? killOne;
  let good: string | null = null;

  for (let i = 0; i < plan.rollouts; i++) {
    const version = `v${i + 1}`;
    const bad = i > 0 && random() < (plan.badShare ?? 0.3);
    await c.push(version, Buffer.from(`feature file ${version}${bad ? ' BAD' : ''}\nfeature_a 0.5\n`));
    const t0 = Date.now();
    const { id } = await c.startRollout(version);
    const blind: Blind[] = [];
    for (let k = 0; k < perRollout[i]!; k++) {
      await sleep(Math.floor(random() * (plan.maxDelayMs ?? 4000)));
      const { record, window } = await fault(c, id, random, plan.maxDownMs ?? 2500);
      faults.push(record);
      if (window) blind.push(window);
      log(`  fault ${faults.length}: ${record.what}${record.holder ? ' (holder)' : ''} during ${record.seen}, down ${record.down_ms} ms`);
    }
    const end = await terminal(c, id);
    const want = bad ? good : version;
    const violations: string[] = [];
    if (end.status !== (bad ? 'rolled_back' : 'completed')) violations.push(`a ${bad ? 'bad' : 'good'} version ended ${end.status}: ${end.outcome?.reason ?? end.pause_reason ?? ''}`);
    try {
      await waitFor(`every node to serve ${want}`, () => Object.values(c.serving()).every((v) => v === want), { timeoutMs: 120_000, last: () => JSON.stringify(c.serving()) });
    } catch (err) {
      violations.push((err as Error).message);
    }
    const events = await c.events(id);
    violations.push(...logViolations(events, { stages: STAGES, outcome: bad ? 'rolled_back' : 'completed', bakeMs: BAKE_MS, intervalMs: INTERVAL_MS, blind }));
    if (!bad) good = version;
    const rec: RolloutRecord = { id, version, bad, status: end.status, faults: perRollout[i]!, events: events.length, ms: Date.now() - t0, violations };
    rollouts.push(rec);
    log(`rollout ${i + 1}/${plan.rollouts} ${version}${bad ? ' (bad)' : ''}: ${end.status} after ${rec.faults} fault(s) in ${(rec.ms / 1000).toFixed(1)} s${violations.length ? `; VIOLATIONS: ${violations.join('; ')}` : ''}`);
  }
  const chain = await c.api.get<{ ok: boolean }>('/v1/audit/verify');
  const violations = rollouts.flatMap((r) => r.violations.map((v) => `${r.version} (${r.id}): ${v}`));
  if (!chain.ok) violations.push(`the hash chain does not verify: ${JSON.stringify(chain)}`);
  return { engine: c.opts.engine, replicas: c.opts.replicas, agents: c.opts.agents, seed: plan.seed, rollouts, faults, chain_ok: chain.ok, violations };
}

/**
 * Kills one process: on PostgreSQL the rollout's holder three times in four, another replica
 * otherwise. The blind window is what is certainly unwatched: the whole downtime of the only
 * process, or, when a replica's holder dies, the first quarter of a lease (the survivor cannot
 * take over before the dead one's last renewal expires, half a lease or more after the kill).
 */
export const killOne: Fault = async (c, id, random, maxDownMs) => {
  const holder = c.replicas.length === 1 ? c.replicas[0] : await c.holder(id);
  const target: Replica = holder && random() < 0.75 ? holder : c.replicas[Math.floor(random() * c.replicas.length)]!;
  const seen = await doing(c, id);
  const at = Date.now();
  await c.kill(target);
  const down = 200 + Math.floor(random() * (maxDownMs - 200));
  await sleep(down);
  await c.restart(target);
  const back = Date.now();
  const isHolder = target === holder;
  const window = !isHolder ? undefined : c.replicas.length === 1 ? { from: at, to: back } : { from: at, to: at + c.opts.leaseMs / 4 };
  return { record: { rollout: id, what: `kill replica ${target.index}`, holder: isHolder, seen, down_ms: back - at }, window };
};

/** What the rollout is doing, in a word or two, for the record of a fault. */
export async function doing(c: ChaosCluster, id: string): Promise<string> {
  try {
    const r = await c.rollout(id);
    return TERMINAL_STATUSES.includes(r.status) ? r.status : `${r.phase} ${STAGES[r.stage_index] ?? r.stage_index}`;
  } catch {
    return 'unknown (the API did not answer)';
  }
}

async function terminal(c: ChaosCluster, id: string): Promise<RolloutState> {
  let last: RolloutState | undefined;
  return waitFor(`rollout ${id} to finish`, async () => {
    last = await c.rollout(id);
    if (last.status === 'paused') return last;
    return TERMINAL_STATUSES.includes(last.status) ? last : undefined;
  }, { timeoutMs: 300_000, intervalMs: 100, last: () => (last ? `${last.status}/${last.phase} stage ${last.stage_index}` : 'nothing') });
}
