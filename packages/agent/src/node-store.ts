import { join } from 'node:path';
import type { ArtifactNode, Pin, ServedVersion, Serving } from '@failsmall/core';
import { readIfExists, writeAtomic } from './files.ts';

const STATE_FILE = '.failsmall-agent.json';

/** The state file as it is written: what is served, the pins and the history, by artifact. */
export interface SavedNodeState {
  readonly serving: Record<string, Serving>;
  readonly pins: Record<string, Pin>;
  readonly history: Record<string, ServedVersion[]>;
}

/**
 * What this node knows of each artifact (core's ArtifactNode: serving, history, pin, a failed
 * load waiting for its retry), kept in one map, and saved to `DIR/.failsmall-agent.json` so a
 * restart finds the pins and the last known-good history again. One change at a time goes
 * through `exclusive`: a load from the control plane and a break-glass pin never interleave.
 */
export class NodeStore {
  readonly #path: string;
  readonly #nodeId: string;
  readonly #nodes = new Map<string, ArtifactNode>();
  #lock: Promise<unknown> = Promise.resolve();
  #saving: Promise<unknown> = Promise.resolve();

  constructor(dir: string, nodeId: string) {
    this.#path = join(dir, STATE_FILE);
    this.#nodeId = nodeId;
  }

  /** One artifact as the node core sees it (an empty history when the node never heard of it). */
  get(artifact: string): ArtifactNode {
    return this.#nodes.get(artifact) ?? { history: [] };
  }

  /** Writes back what the node core decided for one artifact. */
  set(artifact: string, n: ArtifactNode): void {
    this.#nodes.set(artifact, n);
  }

  /** Changes one field of one artifact. */
  update(artifact: string, change: (n: ArtifactNode) => ArtifactNode): void {
    this.set(artifact, change(this.get(artifact)));
  }

  serving(artifact: string): Serving | undefined {
    return this.#nodes.get(artifact)?.serving;
  }

  /** Every artifact the node serves (or holds a state for), with what it serves. */
  served(): [string, Serving][] {
    return [...this.#nodes].flatMap(([a, n]) => (n.serving ? [[a, n.serving] as [string, Serving]] : []));
  }

  pins(): Pin[] {
    return [...this.#nodes.values()].flatMap((n) => (n.pin ? [n.pin] : []));
  }

  /** The artifacts with a failed load waiting for its retry. */
  failed(): ArtifactNode[] {
    return [...this.#nodes.values()].filter((n) => n.failed !== undefined);
  }

  /** One change to what the node serves at a time. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** Saves are queued: two in flight could land in the wrong order and lose a pin on restart. Each writes the state as of its turn. */
  save(): Promise<void> {
    const run = this.#saving.then(() => writeAtomic(this.#path, JSON.stringify({ node: this.#nodeId, ...this.#snapshot() }, null, 2)));
    this.#saving = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads the state file into the store; `undefined` when there is none, `'corrupt'` when it
   * cannot be read (the store stays empty and the files on disk are left alone).
   */
  async restore(): Promise<SavedNodeState | 'corrupt' | undefined> {
    const raw = await readIfExists(this.#path);
    if (!raw) return undefined;
    let parsed: Partial<SavedNodeState>;
    try {
      parsed = JSON.parse(raw.toString('utf8')) as Partial<SavedNodeState>;
    } catch {
      return 'corrupt';
    }
    const saved: SavedNodeState = { serving: parsed.serving ?? {}, pins: parsed.pins ?? {}, history: parsed.history ?? {} };
    for (const [artifact, p] of Object.entries(saved.pins)) this.update(artifact, (n) => ({ ...n, pin: p }));
    for (const [artifact, h] of Object.entries(saved.history)) if (Array.isArray(h)) this.update(artifact, (n) => ({ ...n, history: h }));
    for (const [artifact, s] of Object.entries(saved.serving)) this.update(artifact, (n) => ({ ...n, serving: s }));
    return saved;
  }

  #snapshot(): SavedNodeState {
    const serving: Record<string, Serving> = {};
    const pins: Record<string, Pin> = {};
    const history: Record<string, ServedVersion[]> = {};
    for (const [a, n] of this.#nodes) {
      if (n.serving) serving[a] = n.serving;
      if (n.pin) pins[a] = n.pin;
      if (n.history.length > 0 || n.serving) history[a] = [...n.history];
    }
    return { serving, pins, history };
  }
}
