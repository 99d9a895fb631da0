import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes a file so that a reader (or a crash) sees either the old content or the new,
 * never half of it: write a temp file in the same directory, fsync, rename over.
 */
export async function writeAtomic(path: string, content: Uint8Array | string, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // A mode is set at creation: a secret is never readable by others, not even for a moment.
    await writeFile(tmp, content, { flush: true, ...(mode !== undefined ? { mode } : {}) });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
