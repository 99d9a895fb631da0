import { httpRequest, runCommand } from '@failsmall/io';
import type { ApplyCallback, LoadRequest, Verdict } from './loader.ts';

/**
 * How a module on this node takes a file and how it stops: the loader's only effect on the
 * module itself. An interface, so that tests hand in a fake that records what it was given, and
 * an embedded runtime applies in its own way; the agent builds its from its options
 * (`configuredModule`: an in-process callback, a reload URL or a reload command; a stop command).
 */
export interface Module {
  /** The module takes the file now at `path` (its bytes are `req.content`); a refusal is an apply failure. */
  apply(path: string, req: LoadRequest): Promise<Verdict>;
  /** The module's traffic stops: it failed closed, and its file is already gone. */
  stop(req: Pick<LoadRequest, 'artifact' | 'module'>): Promise<Verdict>;
}

/** The options a node configures its modules with (SafeLoaderOptions, the CLI's agent flags, the SDK). */
export interface ModuleOptions {
  /** Per module: a shell command run after the file is written; exit 0 means the module took it. */
  readonly reload?: Readonly<Record<string, string>>;
  /** Per module: a local URL that is POSTed `{artifact, version, file}`; 2xx means the module took it. */
  readonly reloadUrls?: Readonly<Record<string, string>>;
  /** Per artifact or module: an in-process apply. */
  readonly callbacks?: Readonly<Record<string, ApplyCallback>>;
  /** Per module: a command that stops the module's traffic when it fails closed. */
  readonly stopCommands?: Readonly<Record<string, string>>;
  readonly reloadTimeoutMs?: number;
}

/**
 * The module as the options describe it, for any artifact and module: apply by the artifact's (else
 * the module's) callback, else the module's reload URL, else its reload command, else nothing to
 * do (the module reads the file when it wants); stop by the module's stop command, if any.
 */
export function configuredModule(o: ModuleOptions): Module {
  const timeoutMs = o.reloadTimeoutMs ?? 10_000;
  return {
    async apply(path, req) {
      const callback = o.callbacks?.[req.artifact] ?? o.callbacks?.[req.module];
      if (callback) {
        try {
          await callback(path, req);
          return { ok: true };
        } catch (err) {
          return { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      }
      const url = o.reloadUrls?.[req.module];
      if (url) return postReload(url, { artifact: req.artifact, version: req.version, file: path }, timeoutMs);
      const command = o.reload?.[req.module];
      if (!command) return { ok: true };
      return runCommand(command, {
        env: { FAILSMALL_FILE: path, FAILSMALL_ARTIFACT: req.artifact, FAILSMALL_VERSION: req.version ?? '', FAILSMALL_MODULE: req.module },
        timeoutMs, what: 'reload command',
      });
    },
    async stop(req) {
      const command = o.stopCommands?.[req.module];
      if (!command) return { ok: true };
      return runCommand(command, { env: { FAILSMALL_MODULE: req.module, FAILSMALL_ARTIFACT: req.artifact }, timeoutMs, what: 'stop command' });
    },
  };
}

async function postReload(url: string, body: unknown, timeoutMs: number): Promise<Verdict> {
  try {
    const res = await httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs, maxBytes: 64 * 1024 });
    // Trimmed: an application's refusal usually ends in a newline, which would break every listing it shows in.
    const text = res.body.toString('utf8').slice(0, 300).trim();
    return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, error: `reload URL answered HTTP ${res.status}${text ? `: ${text}` : ''}` };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, error: e.name === 'TimeoutError' ? `reload URL timed out after ${timeoutMs} ms` : `reload URL failed: ${e.message}` };
  }
}
