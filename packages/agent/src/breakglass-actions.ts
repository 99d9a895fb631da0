import { lkgTarget, remember, replacedAfter, type DrillReadiness, type LoadReport, type Pin, type Serving } from '@failsmall/core';
import type { LoadRequest, SafeLoader } from './loader.ts';
import type { AgentLog } from './log.ts';
import type { AgentMetrics } from './metrics.ts';
import type { NodeStore } from './node-store.ts';
import type { VersionCache } from './version-cache.ts';

/** Who asked for a break-glass action, and why: carried onto the pin. */
export interface BreakglassActor {
  readonly operator: string;
  readonly reason: string;
  readonly nonce: string;
}

type ArtifactResult = { artifact: string; serving: string | null; state: string };

export type BreakglassOutcome =
  | { readonly ok: true; readonly message: string; readonly result: ArtifactResult[]; readonly drill?: readonly DrillReadiness[] }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly hint: string; readonly result?: ArtifactResult[] };

/** Bytes a pin command carried: still signed by the artifact key, checked like any load. */
export interface SuppliedVersion {
  readonly content: Buffer;
  readonly sha256: string;
  readonly signature: string;
}

/** What the break-glass actions need of the node they act on. */
export interface BreakglassNodeParts {
  readonly store: NodeStore;
  readonly loader: SafeLoader;
  readonly cache: VersionCache;
  readonly metrics: AgentMetrics;
  readonly log: AgentLog;
  now(): number;
  /** A load report for the control plane, sent when it can be reached. */
  report(r: LoadReport): void;
  /** The safe default this node trusts for a module (signed, or its own), if any. */
  safeDefault(s: Serving): string | undefined;
  /** Why a module has no safe default this node trusts. */
  noSafeDefault(module: string): string;
  /** A pin was lifted: the desired state must be asked for afresh and acted on. */
  unpinned(): void;
}

/**
 * The break-glass actions on one node: pin a version, back to the last known-good, kill switch
 * (fail open to the safe default), unpin, and a drill that changes nothing. Each holds the lock
 * loads hold, so a load from the control plane and a pin never interleave; each takes its
 * decisions from the node core (lkgTarget, replacedAfter, remember) and needs no control plane.
 */
export class BreakglassActions {
  readonly #n: BreakglassNodeParts;

  constructor(parts: BreakglassNodeParts) {
    this.#n = parts;
  }

  pin(artifact: string, version: string, supplied: SuppliedVersion | undefined, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#n.store.exclusive(() => this.#pin(artifact, version, supplied, actor));
  }

  lkg(artifact: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#n.store.exclusive(() => this.#lkg(artifact, actor));
  }

  killSwitch(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#n.store.exclusive(() => this.#killSwitch(target, actor));
  }

  unpin(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#n.store.exclusive(() => this.#unpin(target, actor));
  }

  /** A drill: checks, changing nothing, that `lkg` and `kill-switch` would work for TARGET (an artifact or a module). */
  drill(target: string): Promise<BreakglassOutcome> {
    return this.#n.store.exclusive(() => this.#drill(target));
  }

  /**
   * Serves `version` of `artifact` and pins it. The bytes come from the command (still signed by
   * the artifact key) or from this node's download cache; either way they go through the safe
   * loader's checks (sha256, artifact signature, validation) like any other load.
   */
  async #pin(artifact: string, version: string, supplied: SuppliedVersion | undefined, actor: BreakglassActor, action: 'pin' | 'lkg' = 'pin'): Promise<BreakglassOutcome> {
    const { store, loader } = this.#n;
    const s = store.serving(artifact);
    if (!s) return this.#unknown(artifact);
    const prepared = await this.#pinRequest(artifact, s, version, supplied);
    if (!prepared.ok) return prepared;
    const { request, bytes } = prepared;
    // A pin that fails its checks changes nothing on the node: refuse it before the module is touched.
    const pre = await loader.precheck(request);
    if (!pre.ok) {
      return { ok: false, code: 'LOAD_REFUSED', message: `${artifact}@${version} refused at ${pre.error}`, hint: 'the pinned version must pass the same checks as any other (sha256, the artifact key\'s signature, validation); nothing was changed', result: [{ artifact, serving: s.version, state: s.state }] };
    }
    const result = await loader.load(request);
    const servingVersion = 'version' in result.state ? result.state.version : null;
    store.update(artifact, (n) => ({ ...n, serving: { ...s, version: servingVersion, sha256: result.ok ? bytes.sha256 : s.sha256, state: result.state.state } }));
    this.#n.metrics.serving(artifact, servingVersion, result.state.state);
    const after = [{ artifact, serving: servingVersion, state: result.state.state }];
    if (!result.ok) {
      // It passed its checks but the module did not take it: the module is now as its on_load_failure says.
      await store.save();
      this.#n.report({ artifact, version, ok: false, serving: servingVersion, error: `break-glass pin by ${actor.operator}: ${result.error}`.slice(0, 3900), module_state: result.state.state });
      return { ok: false, code: 'LOAD_FAILED', message: `${artifact}@${version} failed at ${result.stage}: ${result.error}; the module is now ${result.state.state}${servingVersion ? ` on ${servingVersion}` : ''}`, hint: 'the module refused the version when applying it (reload command or callback): check the module, or pin another version', result: after };
    }
    // Cache supplied bytes, so that a later pin or restart finds them on the node.
    if (supplied) await this.#n.cache.put(artifact, version, supplied.content);
    const since = new Date(this.#n.now()).toISOString();
    store.update(artifact, (n) => {
      const { failed: _retryDropped, ...rest } = n;
      const pin: Pin = { artifact, action, version, state: result.state.state, ...actorOf(actor), since, replaced: replacedAfter(n.pin, s.version, version) };
      return { ...rest, history: remember(n.history, { version, sha256: bytes.sha256, signature: bytes.signature }), pin };
    });
    await store.save();
    this.#n.report({ artifact, version, ok: true, serving: version, error: null, module_state: result.state.state });
    this.#n.log.warn(`${artifact}: BREAK-GLASS ${action} by ${actor.operator}: now serving ${version}, pinned (${actor.reason})`);
    return { ok: true, message: `${artifact} pinned to ${version}`, result: after };
  }

  /** The load a pin makes: the bytes from the command, or this node's cache of a version it served. */
  async #pinRequest(artifact: string, s: Serving, version: string, supplied: SuppliedVersion | undefined): Promise<
    | { ok: true; request: LoadRequest & { content: Buffer }; bytes: SuppliedVersion }
    | { ok: false; code: string; message: string; hint: string }> {
    let bytes = supplied;
    if (!bytes) {
      const history = this.#n.store.get(artifact).history;
      const known = history.find((h) => h.version === version);
      const content = await this.#n.cache.get(artifact, version);
      if (!known || !content) {
        return { ok: false, code: 'VERSION_NOT_ON_NODE', message: `${artifact}@${version} is not on this node (it has ${history.map((h) => h.version).join(', ') || 'no earlier versions'})`, hint: 'send its content with the command: failsmall breakglass pin ... --content FILE --artifact-signature SIG' };
      }
      bytes = { content, sha256: known.sha256, signature: known.signature ?? '' };
    }
    const onFailure = s.on_failure;
    const request = {
      artifact, module: s.module, version, sha256: bytes.sha256, content: bytes.content, signature: bytes.signature,
      ...(s.validation ? { validation: s.validation } : {}), ...(onFailure ? { onFailure } : {}),
    };
    return { ok: true, request, bytes };
  }

  /**
   * Back to the last known-good: the version this node served before the current one (or, when
   * the module already fell back to its last known-good copy, that copy). Pinned.
   */
  async #lkg(artifact: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    const s = this.#n.store.serving(artifact);
    if (!s) return this.#unknown(artifact);
    const pin = this.#n.store.get(artifact).pin;
    // Repeating the command (say, after a fan-out timed out) must not flip the node back: already there, nothing to do.
    if (pin && onLkgPin(pin, s)) {
      return { ok: true, message: `${artifact} is already on its last known-good ${s.version}, pinned by ${pin.operator}`, result: [{ artifact, serving: s.version, state: s.state }] };
    }
    const target = lkgTarget(this.#n.store.get(artifact));
    if (!target) return { ok: false, code: 'NO_KNOWN_GOOD', message: this.#noKnownGood(artifact), hint: 'pin a version with its content instead: failsmall breakglass pin ARTIFACT VERSION --content FILE --artifact-signature SIG' };
    return this.#pin(artifact, target, undefined, actor, 'lkg');
  }

  #noKnownGood(artifact: string): string {
    return `${artifact} has no earlier version on this node (it served ${this.#n.store.get(artifact).history.map((h) => h.version).join(', ') || 'nothing'})`;
  }

  /**
   * A drill: what `lkg` and `kill-switch` would do for every artifact of TARGET, found by
   * running their checks without their effects. A break-glass path nobody tried is a hope, not
   * a plan: teams drill it (with the control plane up or down) so the key, the addresses, the
   * clocks and the cached versions are known to work before the incident that needs them.
   */
  async #drill(target: string): Promise<BreakglassOutcome> {
    const hits = this.#matching(target);
    if (hits.length === 0) return this.#unknown(target);
    const drill: DrillReadiness[] = [];
    for (const [artifact, s] of hits) {
      const pin = this.#n.store.get(artifact).pin;
      const version = pin && onLkgPin(pin, s) ? s.version : lkgTarget(this.#n.store.get(artifact));
      let lkg: DrillReadiness['lkg'];
      if (!version) {
        lkg = { version: null, ok: false, problem: this.#noKnownGood(artifact) };
      } else {
        const prepared = await this.#pinRequest(artifact, s, version, undefined);
        const pre = prepared.ok ? await this.#n.loader.precheck(prepared.request) : { ok: false as const, error: prepared.message };
        lkg = pre.ok ? { version, ok: true } : { version, ok: false, problem: pre.error };
      }
      const kill_switch = this.#n.safeDefault(s) === undefined ? { ok: false, problem: this.#n.noSafeDefault(s.module) } : { ok: true };
      drill.push({ artifact, module: s.module, serving: s.version, state: s.state, pinned: pin ? `${pin.action} by ${pin.operator}` : null, lkg, kill_switch });
    }
    const unready = drill.filter((d) => !d.lkg.ok);
    const message = unready.length === 0
      ? `drill: lkg would work for ${drill.map((d) => `${d.artifact} (to ${d.lkg.version})`).join(', ')}; nothing changed`
      : `drill: lkg would NOT work for ${unready.map((d) => `${d.artifact}: ${d.lkg.problem}`).join('; ')}; nothing changed`;
    return { ok: true, message, result: hits.map(([a, s]) => ({ artifact: a, serving: s.version, state: s.state })), drill };
  }

  /** Every artifact of a module (or one artifact) to its safe default, pinned there. */
  async #killSwitch(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    const { store } = this.#n;
    const hits = this.#matching(target);
    if (hits.length === 0) return this.#unknown(target);
    const withoutDefault = hits.filter(([, s]) => this.#n.safeDefault(s) === undefined);
    if (withoutDefault.length > 0) {
      return { ok: false, code: 'NO_SAFE_DEFAULT', message: `${withoutDefault.map(([a, s]) => `${a} (${this.#n.noSafeDefault(s.module)})`).join(', ')}: no safe default this node trusts to fail open to`, hint: 'declare a signed safe_default on the module (the control plane signs it at apply with its key, or failsmall artifact sign-default), or start the agent with --safe-default MODULE=FILE; or pin a known-good version instead' };
    }
    const result: ArtifactResult[] = [];
    const since = new Date(this.#n.now()).toISOString();
    for (const [artifact, s] of hits) {
      const safe = this.#n.safeDefault(s);
      const state = await this.#n.loader.failOpen({ artifact, module: s.module, onFailure: { on_load_failure: 'fail-open', ...(safe !== undefined ? { safe_default: safe } : {}) } });
      store.update(artifact, (n) => ({
        ...n,
        serving: { ...s, version: null, state: state.state },
        pin: { artifact, action: 'kill-switch', version: null, state: state.state, ...actorOf(actor), since, replaced: [...(n.pin?.replaced ?? [])] },
      }));
      this.#n.metrics.serving(artifact, null, state.state);
      this.#n.report({ artifact, version: s.version, ok: false, serving: null, error: `break-glass kill switch by ${actor.operator}: ${actor.reason}`.slice(0, 3900), module_state: state.state });
      result.push({ artifact, serving: null, state: state.state });
      this.#n.log.warn(`${artifact}: BREAK-GLASS kill switch by ${actor.operator}: failed open to its safe default, pinned (${actor.reason})`);
    }
    await store.save();
    return { ok: true, message: `${hits.map(([a]) => a).join(', ')} failed open to the safe default`, result };
  }

  /** Lifts the pins of an artifact, or of every artifact of a module (as a kill switch pinned them). */
  async #unpin(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    const { store } = this.#n;
    const known = this.#matching(target);
    if (known.length === 0) return this.#unknown(target);
    const after = known.map(([a, s]) => ({ artifact: a, serving: s.version, state: s.state }));
    const lifted = known.filter(([a]) => store.get(a).pin !== undefined).map(([a]) => a);
    if (lifted.length === 0) return { ok: true, message: `${target} was not pinned; nothing to lift`, result: after };
    for (const a of lifted) store.update(a, ({ pin: _lifted, ...rest }) => rest);
    await store.save();
    this.#n.unpinned();
    this.#n.log.warn(`${lifted.join(', ')}: break-glass pin lifted by ${actor.operator} (${actor.reason}); following the control plane again`);
    return { ok: true, message: `${lifted.join(', ')} unpinned; following the control plane again`, result: after };
  }

  /** The artifacts a break-glass target names: one artifact, or every artifact of a module. */
  #matching(target: string): [string, Serving][] {
    return this.#n.store.served().filter(([a, s]) => a === target || s.module === target);
  }

  /** A break-glass target this node does not run, with what it does run. */
  #unknown(target: string): BreakglassOutcome {
    return { ok: false, code: 'UNKNOWN_ARTIFACT', message: `this node runs no module or artifact named ${target}`, hint: `it serves ${this.#n.store.served().map(([a, s]) => `${a} (${s.module})`).join(', ') || 'nothing yet'}` };
  }
}

/** The node serves the version an `lkg` pin put it on: `lkg` again changes nothing. */
function onLkgPin(pin: Pin, s: Serving): boolean {
  return pin.action === 'lkg' && pin.version === s.version && s.state === 'serving';
}

function actorOf(a: BreakglassActor): Pick<Pin, 'operator' | 'reason' | 'nonce'> {
  return { operator: a.operator, reason: a.reason, nonce: a.nonce };
}
