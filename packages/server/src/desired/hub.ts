import { createHash } from 'node:crypto';
import { desiredVersion, TERMINAL_STATUSES, type RolloutState } from '@failsmall/core';
import type { ArtifactRecord, NodeRecord, Store } from '../store/types.ts';

/** What one agent should run, per artifact. The ETag is a hash of it. */
export interface DesiredArtifact {
  readonly artifact: string;
  readonly kind: string;
  readonly module: string;
  /** null: the artifact has no version for this node yet (or it was rolled back to none). */
  readonly version: string | null;
  readonly sha256: string | null;
  readonly rollout: string | null;
  /** The declared limits, so the agent checks them again before apply: a generated file is user input. */
  readonly validation: { readonly max_bytes?: number; readonly max_entries?: number };
}

export interface DesiredState {
  readonly node: string;
  readonly artifacts: readonly DesiredArtifact[];
}

interface Waiter {
  readonly node: NodeRecord;
  readonly etag: string | undefined;
  readonly resolve: (d: { desired: DesiredState; etag: string } | null) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Keeps, in memory, what each node should run, derived from the store (artifacts' current
 * versions and active rollouts), and holds agents' long-polls. `refresh()` after every
 * committed transition wakes every waiter whose desired state changed, at once.
 */
export class DesiredHub {
  readonly #store: Store;
  #artifacts: ArtifactRecord[] = [];
  #active = new Map<string, { state: RolloutState; assigned: Set<string> }>();
  #sha = new Map<string, string>();
  /** Computed desired states by (modules, assignments) key; cleared on every refresh. */
  #byKey = new Map<string, { artifacts: DesiredArtifact[]; etag: string }>();
  readonly #waiters = new Set<Waiter>();

  constructor(store: Store) {
    this.#store = store;
  }

  get waiting(): number {
    return this.#waiters.size;
  }

  async refresh(): Promise<void> {
    const [artifacts, active] = await Promise.all([this.#store.listArtifacts(), this.#store.listRollouts({ active: true })]);
    const activeMap = new Map<string, { state: RolloutState; assigned: Set<string> }>();
    for (const r of active) activeMap.set(r.artifact, { state: r, assigned: new Set(r.assigned) });
    for (const a of artifacts) {
      await this.#knowSha(a.name, a.current_version);
      const r = activeMap.get(a.name);
      if (r) {
        await this.#knowSha(a.name, r.state.to_version);
        await this.#knowSha(a.name, r.state.from_version);
      }
    }
    this.#artifacts = artifacts;
    this.#active = activeMap;
    this.#byKey = new Map();
    this.#wake();
  }

  async #knowSha(artifact: string, version: string | null): Promise<void> {
    if (version === null || this.#sha.has(`${artifact}@${version}`)) return;
    const v = await this.#store.getVersion(artifact, version);
    if (v) this.#sha.set(`${artifact}@${version}`, v.sha256);
  }

  /**
   * A node's desired state depends only on the modules it runs and on which active rollouts
   * assigned it, so nodes that share both share one computed answer (and one ETag): waking
   * 10,000 long-polls computes a handful of states, not 10,000.
   */
  desiredFor(node: NodeRecord): { desired: DesiredState; etag: string } {
    let key = node.modules.join(',');
    for (const [artifact, r] of this.#active) if (r.assigned.has(node.id)) key += `|${artifact}`;
    let shared = this.#byKey.get(key);
    if (!shared) {
      shared = this.#compute(node);
      this.#byKey.set(key, shared);
    }
    return { desired: { node: node.id, artifacts: shared.artifacts }, etag: shared.etag };
  }

  #compute(node: NodeRecord): { artifacts: DesiredArtifact[]; etag: string } {
    const artifacts: DesiredArtifact[] = [];
    for (const a of this.#artifacts) {
      if (node.modules.length > 0 && !node.modules.includes(a.module)) continue;
      const active = this.#active.get(a.name);
      const running = active && !TERMINAL_STATUSES.includes(active.state.status) ? active : undefined;
      const version = desiredVersion(a.current_version, running?.state, running?.assigned, node.id);
      artifacts.push({
        artifact: a.name, kind: a.kind, module: a.module, version,
        sha256: version === null ? null : (this.#sha.get(`${a.name}@${version}`) ?? null),
        rollout: running && version === running.state.to_version ? running.state.id : null,
        validation: {
          ...(a.validation.max_bytes !== undefined ? { max_bytes: a.validation.max_bytes } : {}),
          ...(a.validation.max_entries !== undefined ? { max_entries: a.validation.max_entries } : {}),
        },
      });
    }
    const etag = `"${createHash('sha256').update(JSON.stringify(artifacts.map((x) => [x.artifact, x.version, x.sha256, x.validation]))).digest('hex').slice(0, 20)}"`;
    return { artifacts, etag };
  }

  /** Resolves at once when the node's desired state differs from `etag`, else when it changes, else null after `waitMs`. */
  wait(node: NodeRecord, etag: string | undefined, waitMs: number): Promise<{ desired: DesiredState; etag: string } | null> {
    const now = this.desiredFor(node);
    if (etag === undefined || now.etag !== etag || waitMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        node, etag, resolve,
        timer: setTimeout(() => { this.#waiters.delete(waiter); resolve(null); }, waitMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Ends every long-poll (server shutdown): each returns its current state. */
  close(): void {
    for (const w of this.#waiters) { clearTimeout(w.timer); w.resolve(null); }
    this.#waiters.clear();
  }

  #wake(): void {
    for (const w of this.#waiters) {
      const d = this.desiredFor(w.node);
      if (d.etag !== w.etag) {
        clearTimeout(w.timer);
        this.#waiters.delete(w);
        w.resolve(d);
      }
    }
  }
}
