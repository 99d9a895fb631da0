import { spawn } from 'node:child_process';

export type CommandResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/**
 * Runs a shell command with a hard timeout: a validator or reload that hangs is killed
 * (the whole process group), and the hang is reported as a failure, never waited out.
 * `stdin` is written to the command's standard input when given. `bareEnv` passes only PATH,
 * HOME, LANG and TZ of this process's environment (plus `env`): for commands that must not see secrets.
 */
export function runCommand(command: string, opts: { env?: Record<string, string>; bareEnv?: boolean; stdin?: Uint8Array; timeoutMs: number; what: string }): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...(opts.bareEnv ? bareEnvironment() : process.env), ...(opts.env ?? {}) },
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let settled = false;
    const finish = (r: CommandResult) => { if (!settled) { settled = true; clearTimeout(timer); resolve(r); } };
    child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
    const timer = setTimeout(() => {
      try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
      finish({ ok: false, error: `${opts.what} timed out after ${opts.timeoutMs} ms and was killed` });
    }, opts.timeoutMs);
    child.on('error', (err) => finish({ ok: false, error: `${opts.what} failed to start: ${err.message}` }));
    child.on('exit', (code, signal) => {
      if (code === 0) finish({ ok: true });
      else finish({ ok: false, error: `${opts.what} exited ${code ?? signal}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}` });
    });
    if (opts.stdin && child.stdin) {
      child.stdin.on('error', () => { /* the command may exit without reading its input */ });
      child.stdin.end(Buffer.from(opts.stdin));
    }
  });
}

function bareEnvironment(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
