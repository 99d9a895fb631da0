import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ModuleState, OnLoadFailure } from '@failsmall/core';
import { Agent, type AgentLog } from './agent.ts';
import { LastKnownGood } from './lkg.ts';

export interface LoadArtifactOptions<T> {
  /** The artifact to follow, e.g. `bot-management-feature-file`. */
  readonly name: string;
  /** Control-plane URL and an agent token (default: env FAILSMALL_SERVER / FAILSMALL_TOKEN). */
  readonly server?: string;
  readonly token?: string;
  /** PEM of the artifact public key (default: env FAILSMALL_PUBLIC_KEY is read by the caller). */
  readonly publicKey?: string;
  /** Development only. */
  readonly allowUnsigned?: boolean;
  /** What this service does when a version cannot be loaded: always explicit. */
  readonly onLoadFailure: OnLoadFailure;
  /** For fail-open (and serve-stale before any good version): the value to use instead. */
  readonly safeDefault?: T;
  /** Bytes → value; default JSON.parse. Throwing refuses the version. */
  readonly parse?: (content: Buffer) => T;
  /** true accepts; a string refuses with that reason (e.g. "240 features > 200"). */
  readonly validate?: (value: T) => true | string;
  /** Node identity; default the host name and no labels. */
  readonly nodeId?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Where the last known-good copy lives; default `.failsmall/sdk/<nodeId>`. */
  readonly dir?: string;
  /** With no last known-good on disk, wait up to this long for the first load (default 10 s; 0: do not wait). */
  readonly firstLoadTimeoutMs?: number;
  readonly log?: AgentLog;
}

/** The live value of one artifact inside a service. */
export interface ArtifactHandle<T> {
  /** The value in force: the last good version, the safe default, or undefined (nothing yet, or failed closed). */
  readonly value: T | undefined;
  readonly version: string | null;
  readonly state: ModuleState['state'];
  /** Called after every change of value or state. Returns an unsubscribe function. */
  onChange(fn: (h: ArtifactHandle<T>) => void): () => void;
  close(): Promise<void>;
}

/**
 * Loads a feature file (or any artifact) safely, in process. The service gets a value that
 * is always one that validated, or its declared fallback; a bad version is refused, reported
 * to the control plane, and never reaches the code that uses the value. The last good value
 * survives restarts, so a service starts with it even when the control plane is down.
 *
 * Examples
 *   const features = await loadArtifact<Feature[]>({
 *     name: 'bot-management-feature-file', onLoadFailure: 'serve-stale',
 *     validate: (f) => f.length <= 200 || `${f.length} features > 200`,
 *   });
 *   score(request, features.value ?? []);
 */
export async function loadArtifact<T = unknown>(o: LoadArtifactOptions<T>): Promise<ArtifactHandle<T>> {
  const nodeId = o.nodeId ?? hostname();
  const dir = o.dir ?? join('.failsmall', 'sdk', nodeId);
  const parse = o.parse ?? ((b: Buffer) => JSON.parse(b.toString('utf8')) as T);
  // The loader hands over the JSON it already parsed to validate; with the default parse, use it.
  const valueOf = (req: { content: Buffer; parsed?: { value: unknown } }): T => (o.parse === undefined && req.parsed ? req.parsed.value as T : parse(req.content));
  const listeners = new Set<(h: ArtifactHandle<T>) => void>();
  let value: T | undefined;
  let version: string | null = null;
  let state: ModuleState['state'] = 'empty';
  let candidate: { value: T } | undefined;

  const check = (content: Buffer, parsedAlready?: { value: unknown }): T => {
    const parsed = valueOf({ content, ...(parsedAlready ? { parsed: parsedAlready } : {}) });
    const verdict = o.validate ? o.validate(parsed) : true;
    if (verdict !== true) throw new Error(verdict);
    return parsed;
  };

  // Start from the last known-good, so the service has a value before (or without) the control plane.
  const lkg = await new LastKnownGood(dir).read(o.name);
  if (lkg.kind === 'ok') {
    try { value = check(lkg.copy.content); version = lkg.copy.version; state = 'serving'; } catch { /* a copy this code no longer accepts: wait for the control plane */ }
  } else if (o.onLoadFailure === 'fail-open' || o.safeDefault !== undefined) {
    if (o.onLoadFailure !== 'fail-closed' && o.safeDefault !== undefined) { value = o.safeDefault; state = 'fail-open'; }
  }

  const handle: ArtifactHandle<T> = {
    get value() { return value; },
    get version() { return version; },
    get state() { return state; },
    onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    async close() { await agent.stop(); },
  };

  const agent = new Agent({
    server: o.server ?? process.env.FAILSMALL_SERVER ?? 'http://127.0.0.1:7070',
    token: o.token ?? process.env.FAILSMALL_TOKEN ?? '',
    nodeId, labels: o.labels ?? {}, modules: [], artifacts: [o.name], dir,
    ...(o.publicKey ? { publicKey: o.publicKey } : {}),
    ...(o.allowUnsigned ? { allowUnsigned: true } : {}),
    ...(o.log ? { log: o.log } : {}),
    // The code's choice wins over the control plane's declaration: it is what this process does.
    onFailureOverrides: { [o.name]: { on_load_failure: o.onLoadFailure, ...(o.safeDefault !== undefined ? { safe_default: JSON.stringify(o.safeDefault) } : {}) } },
    callbacks: {
      [o.name]: async (_path, req) => {
        if (req.content === null) return;
        if (req.version === 'safe-default') { candidate = undefined; return; }
        candidate = { value: check(req.content, req.parsed) };
      },
    },
    onLoad: (_artifact, v, result) => {
      const before = { value, version, state };
      if (result.ok && candidate) { value = candidate.value; version = v; state = 'serving'; }
      else if (result.ok && v === null) { value = o.onLoadFailure !== 'fail-closed' ? o.safeDefault ?? value : undefined; version = null; state = value === undefined ? 'empty' : state; }
      else if (!result.ok) {
        state = result.state.state;
        if (result.state.state === 'fail-open') value = o.safeDefault;
        else if (result.state.state === 'fail-closed' || result.state.state === 'empty') { value = undefined; version = null; }
        else if (result.state.state === 'stale') version = result.state.version;
      }
      candidate = undefined;
      // Only a real change is news: the control plane saying "nothing yet" is not.
      if (before.value !== value || before.version !== version || before.state !== state) for (const fn of listeners) fn(handle);
    },
  });
  const first = new Promise<void>((resolve) => {
    if (lkg.kind === 'ok' || (o.firstLoadTimeoutMs ?? 10_000) <= 0) { resolve(); return; }
    const timer = setTimeout(done, o.firstLoadTimeoutMs ?? 10_000);
    const off = handle.onChange(done);
    function done() { clearTimeout(timer); off(); resolve(); }
  });
  await agent.start();
  await first;
  return handle;
}
