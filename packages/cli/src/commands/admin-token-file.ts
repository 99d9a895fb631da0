import { mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Where `failsmall serve` keeps the first admin token, beside the default store. */
export const DEFAULT_ADMIN_TOKEN_FILE = '.failsmall/admin.token';

/**
 * Writes the admin token a fresh store made into FILE, readable by its owner only (0600), as
 * Jenkins keeps its initial admin password: a control plane started by systemd, or in the
 * background by a script, has no terminal to show the token on, and the token is shown once.
 * Whoever can read the file could read the store beside it too. `-` writes nothing.
 * The CLI reads it with FAILSMALL_TOKEN_FILE (token-source.ts), which insists on 0600.
 */
export async function writeAdminTokenFile(file: string, token: string): Promise<{ ok: true; path: string } | { ok: false; message: string }> {
  const path = resolve(file);
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // Opened with 0600 from the start: never a moment with a wider mode. An old file (a store made
    // again) is truncated, and its mode put back to 0600 whatever it was.
    const handle = await open(path, 'w', 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(`${token}\n`);
    } finally {
      await handle.close();
    }
    return { ok: true, path };
  } catch (err) {
    return { ok: false, message: `${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}
