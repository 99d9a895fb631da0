import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  afterFailedLoad, checkCandidate, nextLoadStep,
  type ArtifactValidation, type LoadOutcome, type LoadProgress, type LoadStage, type LoadStep, type ModuleDecl, type ModuleState, type TrustedKeys,
} from '@failsmall/core';
import { nodeFiles, type Files } from './file-system.ts';
import { LastKnownGood, type LastKnownGoodCopy, type LkgRead } from './lkg.ts';
import { configuredModule, type Module, type ModuleOptions } from './module.ts';
import { commandValidator, type Validator } from './validator.ts';

export type { LoadStage };

/** A validator's or a module's answer: an error is a value, which the node core gives its code (COMMAND, APPLY). */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** What the agent is asked to put in place: one version of one artifact. */
export interface LoadRequest {
  readonly artifact: string;
  readonly module: string;
  readonly version: string | null;
  readonly sha256: string | null;
  /** base64 ed25519 signature, as the control plane stored it. */
  readonly signature?: string | null;
  /** null when version is null (the artifact is to be removed). */
  readonly content: Buffer | null;
  /** The artifact's declared checks, run again on the node: a generated file is user input. */
  readonly validation?: ArtifactValidation;
  /** The module's declared behaviour on a failed load. */
  readonly onFailure?: Pick<ModuleDecl, 'on_load_failure' | 'safe_default' | 'reason'>;
  /** Set by the loader for in-process modules: the JSON value validation already parsed. */
  readonly parsed?: { readonly value: unknown };
}

/** How a load ended: the node core's outcome (`nextLoadStep`), which the simulator's nodes report too. */
export type LoadResult = LoadOutcome;

/**
 * The seam between the agent and a module. The safe loader is the one implementation the
 * agent ships; tests and the SDK configure it rather than replace it.
 */
export interface Loader {
  load(req: LoadRequest): Promise<LoadResult>;
}

/** An in-process apply: throwing refuses the file (the module could not take it). */
export type ApplyCallback = (path: string, req: LoadRequest) => Promise<void> | void;

export interface SafeLoaderOptions extends ModuleOptions {
  /** Artifacts are written to `${dir}/${artifact}`; the last known-good copies live in `${dir}/.lkg/`. */
  readonly dir: string;
  /** The artifact signing key's public half. Without it, only `allowUnsigned` lets versions through. */
  readonly publicKey?: TrustedKeys;
  /** Development only: accept versions with no signature when no public key is configured. */
  readonly allowUnsigned?: boolean;
  /**
   * Per artifact: a validator command configured on this node (never received from the
   * network: a command pushed by the control plane would be remote code execution). It gets
   * the candidate on stdin and as FAILSMALL_FILE; exit 0 accepts it.
   */
  readonly validators?: Readonly<Record<string, string>>;
  readonly validatorTimeoutMs?: number;
  /** The filesystem the artifacts and their last known-good copies are kept on; default node:fs (`nodeFiles`). */
  readonly files?: Files;
  /**
   * The node's own validator of an artifact, or undefined for none. When given, it replaces
   * `validators` (whose commands are `commandValidator`s; a caller can fall back to them).
   */
  readonly validatorFor?: (artifact: string) => Validator | undefined;
  /**
   * The module that takes an artifact's files and stops. When given, it replaces `callbacks`,
   * `reloadUrls`, `reload` and `stopCommands` (which make `configuredModule`).
   */
  readonly moduleFor?: (module: string, artifact: string) => Module;
  readonly log?: { warn(msg: string): void; error(msg: string): void };
}

const DEFAULT_ON_FAILURE: Pick<ModuleDecl, 'on_load_failure'> = { on_load_failure: 'serve-stale' };

/**
 * The safe loader: verify (sha256, ed25519 signature) → validate (declared limits, JSON
 * Schema, the node's own validator command) → apply (write atomically, then reload by
 * command, URL or callback) → remember as last known-good. Any failure leaves the module
 * as its declared `on_load_failure` says: the last known-good (serve-stale), the safe
 * default (fail-open), or stopped (fail-closed). The decisions are the node core's
 * (`checkCandidate`, `nextLoadStep`), the same the simulator's nodes make; this class does the IO.
 */
export class SafeLoader implements Loader {
  readonly #o: SafeLoaderOptions;
  readonly #files: Files;
  readonly #validatorFor: (artifact: string) => Validator | undefined;
  readonly #moduleFor: (module: string, artifact: string) => Module;
  readonly lastKnownGood: LastKnownGood;

  constructor(opts: SafeLoaderOptions) {
    this.#o = opts;
    const files = opts.files ?? nodeFiles;
    this.#files = files;
    this.lastKnownGood = new LastKnownGood(opts.dir, files);
    this.#validatorFor = opts.validatorFor ?? ((artifact) => {
      const command = opts.validators?.[artifact];
      return command === undefined ? undefined : commandValidator(command, { dir: opts.dir, files, timeoutMs: opts.validatorTimeoutMs ?? 10_000 });
    });
    const configured = configuredModule(opts);
    this.#moduleFor = opts.moduleFor ?? (() => configured);
  }

  pathOf(artifact: string): string {
    return join(this.#o.dir, artifact);
  }

  /** sha256 of the file served for `artifact` (in this loader's files), or null when there is none. */
  servedSha256(artifact: string): Promise<string | null> {
    return fileSha256(this.pathOf(artifact), this.#files);
  }

  /**
   * Runs the node core's load sequence: `checkCandidate` and `nextLoadStep` decide, this loop
   * does what each step asks (the validator, the atomic write and apply, reading the last
   * known-good) and feeds the result back, then carries out the end (save, restore, enact, keep).
   */
  async load(req: LoadRequest): Promise<LoadResult> {
    if (req.content === null || req.version === null) {
      await this.#files.remove(this.pathOf(req.artifact));
      return { ok: true, state: { state: 'empty' } };
    }
    const { content, version } = req;
    const path = this.pathOf(req.artifact);
    // The writes begin before the checks, so that their fsyncs overlap the hashing and parsing;
    // only the renames at apply and at the end make the candidate served and last known-good.
    // Bytes over their declared max_bytes are refused anyway and are not written at all.
    const staged = req.sha256 !== null && content.byteLength <= (req.validation?.max_bytes ?? Infinity)
      ? { file: this.#files.stage(path, content), lkg: this.lastKnownGood.prepare(req.artifact, { version, sha256: req.sha256 }) }
      : undefined;
    const validator = this.#validatorFor(req.artifact);
    let progress: LoadProgress = {
      check: checkCandidate({ ...req, content, version }, this.#o), hasCommand: validator !== undefined,
      ...(req.onFailure ? { onFailure: req.onFailure } : {}),
    };
    let lkg: LkgRead = { kind: 'none' };
    try {
      for (;;) {
        const step = nextLoadStep(progress, version);
        switch (step.type) {
          case 'run-command':
            progress = { ...progress, command: await validate(validator, req, content) };
            break;
          case 'apply': {
            await (staged?.file ?? this.#files.stage(path, content)).commit();
            const json = progress.check.ok ? progress.check.json : undefined;
            progress = { ...progress, apply: await this.#apply(path, json ? { ...req, parsed: json } : req) };
            break;
          }
          case 'read-lkg':
            lkg = await this.lastKnownGood.read(req.artifact);
            if (lkg.kind === 'corrupt') this.#o.log?.error(`${lkg.reason}: it cannot be served; ${req.module} falls back to its declared on_load_failure`);
            progress = { ...progress, lastKnownGood: lkg.kind === 'ok' ? lkg.copy.version : null };
            break;
          case 'done':
            if (step.then === 'save-lkg') await (staged?.lkg ?? this.lastKnownGood.prepare(req.artifact, { version, sha256: req.sha256 ?? '' })).commit(path, content);
            else await this.#fallBack(step, req, lkg);
            return step.outcome;
        }
      }
    } finally {
      // A refused candidate's temp files go; a committed write is left alone.
      if (staged) await Promise.all([staged.file.discard(), staged.lkg.discard()]);
    }
  }

  /**
   * Puts the module back on its last known-good copy after a restart found the served file
   * inconsistent (killed between write and apply, or tampered with); with no usable copy,
   * the declared `on_load_failure` decides.
   */
  async recover(req: Pick<LoadRequest, 'artifact' | 'module' | 'onFailure'>, why: string): Promise<{ state: ModuleState; error: string }> {
    const lkg = await this.lastKnownGood.read(req.artifact);
    if (lkg.kind === 'ok') {
      const again = await this.#restore(req, lkg.copy);
      if (again.ok) return { state: { state: 'stale', version: lkg.copy.version }, error: `${why}; restored last known-good ${lkg.copy.version}` };
    }
    const decision = afterFailedLoad(req.onFailure ?? DEFAULT_ON_FAILURE, null);
    await this.#enact(req, decision, true);
    return { state: decision, error: `${why}; ${lkg.kind === 'corrupt' ? lkg.reason : 'no last known-good'}: ${decision.state}` };
  }

  /**
   * Verify and validate without touching the module: for a break-glass pin, where a version that
   * fails its checks must change nothing (no fall back to on_load_failure, as a pushed version would).
   */
  async precheck(req: LoadRequest): Promise<{ ok: true } | { ok: false; stage: LoadStage; error: string }> {
    if (req.content === null) return { ok: false, stage: 'verify', error: 'no content' };
    const { content } = req;
    const version = req.version ?? '';
    const validator = this.#validatorFor(req.artifact);
    // No fallback is carried out here, so the last known-good is never read: its version does not change a refusal's stage or words.
    let progress: LoadProgress = { check: checkCandidate({ ...req, content, version }, this.#o), hasCommand: validator !== undefined, lastKnownGood: null };
    for (;;) {
      const step = nextLoadStep(progress, version);
      if (step.type === 'run-command') {
        progress = { ...progress, command: await validate(validator, req, content) };
        continue;
      }
      if (step.type === 'done' && !step.outcome.ok) return { ok: false, stage: step.outcome.stage, error: step.outcome.error };
      // The sequence reached apply: every check passed.
      return { ok: true };
    }
  }

  /**
   * Break-glass kill switch: the module goes to its safe default at once, as if a load had
   * failed under `fail-open`. The caller checked that a safe default exists.
   */
  async failOpen(req: Pick<LoadRequest, 'artifact' | 'module' | 'onFailure'>): Promise<ModuleState> {
    const decision: ModuleState = { state: 'fail-open' };
    await this.#enact(req, decision, true);
    return decision;
  }

  /** The module's apply, for the module and artifact of `req`. */
  #apply(path: string, req: LoadRequest): Promise<Verdict> {
    return this.#moduleFor(req.module, req.artifact).apply(path, req);
  }

  /** Puts the last known-good `copy` back in place and hands it to the module again. */
  async #restore(req: Pick<LoadRequest, 'artifact' | 'module' | 'onFailure'>, copy: LastKnownGoodCopy): Promise<Verdict> {
    const path = this.pathOf(req.artifact);
    await this.#files.writeAtomic(path, copy.content);
    return this.#apply(path, { ...req, version: copy.version, sha256: copy.sha256, content: copy.content });
  }

  /** Carries out a refused load's end, as `nextLoadStep` decided it: restore the last known-good, enact the fallback, or keep the module as it is. */
  async #fallBack(step: Extract<LoadStep, { type: 'done' }>, req: LoadRequest, lkg: LkgRead): Promise<void> {
    if (step.then === 'restore' && lkg.kind === 'ok') {
      // The module may hold half of the refused version: hand it the last known-good again.
      const back = await this.#restore(req, lkg.copy);
      if (!back.ok) this.#o.log?.error(`${req.module} did not take its last known-good ${lkg.copy.version} back: ${back.error}`);
    } else if (step.then === 'enact') {
      await this.#enact(req, step.outcome.state, step.touched);
    }
  }

  /** Carries out fail-open, fail-closed or empty on the module's file. */
  async #enact(req: Pick<LoadRequest, 'artifact' | 'module' | 'onFailure'>, decision: ModuleState, touched: boolean): Promise<void> {
    const path = this.pathOf(req.artifact);
    if (decision.state === 'fail-open') {
      const safe = Buffer.from(req.onFailure?.safe_default ?? '');
      await this.#files.writeAtomic(path, safe);
      const r = await this.#apply(path, { artifact: req.artifact, module: req.module, version: 'safe-default', sha256: null, content: safe });
      if (!r.ok) this.#o.log?.error(`${req.module} did not take its safe default: ${r.error}`);
    } else if (decision.state === 'fail-closed') {
      await this.#files.remove(path);
      const r = await this.#moduleFor(req.module, req.artifact).stop(req);
      if (!r.ok) this.#o.log?.error(`${req.module} failed closed but did not stop: ${r.error}`);
      this.#o.log?.error(`${req.module} FAILED CLOSED: its traffic is stopped (${req.onFailure?.reason ?? 'declared fail-closed'})`);
    } else if (decision.state === 'empty' && touched) {
      await this.#files.remove(path);
    }
  }
}

/** sha256 of what is on disk at `path` (or in `files`), or null when there is nothing. */
export async function fileSha256(path: string, files: Files = nodeFiles): Promise<string | null> {
  const content = await files.read(path);
  return content ? createHash('sha256').update(content).digest('hex') : null;
}

/** Runs the validator the core asked for (it asks only when there is one). */
function validate(validator: Validator | undefined, req: LoadRequest, content: Buffer): Promise<Verdict> {
  return validator ? validator.validate({ artifact: req.artifact, module: req.module, version: req.version, content }) : Promise.resolve({ ok: true });
}
