import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkLimits, type ArtifactValidation } from '@failsmall/core';
import { readIfExists, writeAtomic } from './files.ts';

/** What the agent is asked to put in place: one version of one artifact. */
export interface LoadRequest {
  readonly artifact: string;
  readonly module: string;
  readonly version: string | null;
  readonly sha256: string | null;
  /** null when version is null (the artifact is to be removed). */
  readonly content: Buffer | null;
  /** The artifact's declared limits, checked again on the node. */
  readonly validation?: ArtifactValidation;
}

export type LoadResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly stage: 'verify' | 'validate' | 'apply'; readonly error: string };

/**
 * The seam between the agent and a module. The basic loader verifies the sha256, writes the
 * file atomically and runs the module's reload command; on failure it puts the previous file
 * back. The safe loader (signatures, schemas, last known-good, fail-open/closed) replaces it
 * behind this same interface.
 */
export interface Loader {
  load(req: LoadRequest): Promise<LoadResult>;
}

export interface FileLoaderOptions {
  /** Artifacts are written to `${dir}/${artifact}`. */
  readonly dir: string;
  /** Per module: a shell command run after the file is written; exit 0 means the module took it. */
  readonly reload: Readonly<Record<string, string>>;
  readonly reloadTimeoutMs: number;
  /**
   * Per module: an in-process reload (a service embedding the agent hands its module the file).
   * Throwing means the module refused the file.
   */
  readonly callbacks?: Readonly<Record<string, (path: string, req: LoadRequest) => Promise<void> | void>>;
}

export class FileLoader implements Loader {
  readonly #opts: FileLoaderOptions;

  constructor(opts: FileLoaderOptions) {
    this.#opts = opts;
  }

  pathOf(artifact: string): string {
    return join(this.#opts.dir, artifact);
  }

  async load(req: LoadRequest): Promise<LoadResult> {
    const path = this.pathOf(req.artifact);
    if (req.content !== null) {
      const sha = createHash('sha256').update(req.content).digest('hex');
      if (req.sha256 === null || sha !== req.sha256) {
        return { ok: false, stage: 'verify', error: `sha256 mismatch: got ${sha.slice(0, 12)}…, expected ${req.sha256?.slice(0, 12) ?? 'none'}…` };
      }
      const problems = checkLimits(req.content, req.validation ?? {});
      if (problems.length > 0) return { ok: false, stage: 'validate', error: problems.map((p) => p.message).join('; ') };
    }
    const previous = await readIfExists(path);
    if (req.content === null) await rm(path, { force: true });
    else await writeAtomic(path, req.content);
    const reload = await this.#reload(path, req);
    if (reload.ok) return { ok: true };
    // The module refused the file: put the previous one back so the next reader sees what is served.
    if (previous === undefined) await rm(path, { force: true });
    else await writeAtomic(path, previous);
    return { ok: false, stage: 'apply', error: reload.error };
  }

  async #reload(path: string, req: LoadRequest): Promise<{ ok: true } | { ok: false; error: string }> {
    const callback = this.#opts.callbacks?.[req.module];
    if (callback) {
      try {
        await callback(path, req);
        return { ok: true };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    const command = this.#opts.reload[req.module];
    if (!command) return { ok: true };
    return runReload(command, { FAILSMALL_FILE: path, FAILSMALL_ARTIFACT: req.artifact, FAILSMALL_VERSION: req.version ?? '', FAILSMALL_MODULE: req.module }, this.#opts.reloadTimeoutMs);
  }
}

function runReload(command: string, env: Record<string, string>, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve({ ok: false, error: `reload command timed out after ${timeoutMs} ms` }); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); resolve({ ok: false, error: `reload command failed to start: ${err.message}` }); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true });
      else resolve({ ok: false, error: `reload command exited ${code ?? signal}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}` });
    });
  });
}
