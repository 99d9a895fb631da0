import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Commands installed by `npm install -g --prefix` (test/install.test.ts, test/systemd-units.test.ts). */
export interface Installed {
  readonly bin: string;
  readonly env: NodeJS.ProcessEnv;
}

/** An installed command, run by its path as a user would (its shebang finds node), output collected. */
export function spawnInstalled(installed: Installed, command: string, args: readonly string[], o: { cwd: string }): {
  child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }>; exited(): boolean; stderr(): string;
} {
  const child = spawn(join(installed.bin, command), args, { cwd: o.cwd, env: { ...installed.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ended = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once('error', (err) => { ended = true; resolve({ code: -1, stdout, stderr: `${stderr}\n[spawn error] ${err.message}` }); });
    child.once('close', (code) => { ended = true; resolve({ code, stdout, stderr }); });
  });
  return { child, done, exited: () => ended, stderr: () => stderr };
}
