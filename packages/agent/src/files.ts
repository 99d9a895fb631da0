import { randomBytes } from 'node:crypto';
import { close, closeSync, constants, mkdirSync, openSync, renameSync, write } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const writeTo = promisify(write);
// O_DSYNC: each write returns once its data (and the size needed to read it back) is on disk, so
// the write and its sync are one job in the thread pool, not a chain that waits for the main
// thread between open, write, fsync and close while it is busy checking the bytes.
const STAGING_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;

/**
 * A write begun before it is known whether the file will be used: the content goes to a temp
 * file in `path`'s directory and is fsynced at once, so that the disk works while the CPU checks
 * the content. `commit` renames it over `path`, so a reader (or a crash) sees the old content or
 * the new, never half of it; `discard` removes it.
 *
 * Examples
 *   const staged = new StagedWrite('/var/lib/failsmall/features', bytes);
 *   if (checksPass(bytes)) await staged.commit(); else await staged.discard();
 */
export class StagedWrite {
  readonly #path: string;
  readonly #tmp: string;
  readonly #written: Promise<void>;
  #done = false;

  constructor(path: string, content: Uint8Array | string, mode?: number) {
    this.#path = path;
    const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
    this.#tmp = tmp;
    this.#written = (async () => {
      mkdirSync(dirname(path), { recursive: true });
      // A mode is set at creation: a secret is never readable by others, not even for a moment.
      const fd = openSync(tmp, STAGING_FLAGS, mode ?? 0o666);
      try {
        const bytes = typeof content === 'string' ? Buffer.from(content) : content;
        for (let at = 0; at < bytes.byteLength;) at += (await writeTo(fd, bytes, at, bytes.byteLength - at)).bytesWritten;
      } finally {
        closeSync(fd);
      }
    })();
    // Observed by commit or discard; never an unhandled rejection while the caller is busy.
    this.#written.catch(() => undefined);
  }

  /** Resolves once the temp file is written and fsynced; rejects when that failed. */
  written(): Promise<void> {
    return this.#written;
  }

  /** Waits for the temp file, then puts it in place. A failed write is thrown, and its temp file removed. */
  async commit(): Promise<void> {
    this.#done = true;
    try {
      await this.#written;
      renameOver(this.#tmp, this.#path);
    } catch (err) {
      await rm(this.#tmp, { force: true });
      throw err;
    }
  }

  /** Drops the write, unless it was committed. */
  async discard(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#written.catch(() => undefined);
    await rm(this.#tmp, { force: true });
  }
}

/**
 * Renames `from` over `to`, synchronously: one metadata call is cheaper than a trip through the
 * thread pool on a load's path. The file it replaces is held open across the rename, so that its
 * blocks are freed (on a disk mounted with discard, a slow trim) when the handle is closed in the
 * thread pool afterwards, not inside the rename.
 */
export function renameOver(from: string, to: string): void {
  let replaced: number | undefined;
  try {
    replaced = openSync(to, 'r');
  } catch {
    // Nothing there yet (or unreadable): a plain rename.
  }
  try {
    renameSync(from, to);
  } finally {
    if (replaced !== undefined) close(replaced, () => undefined);
  }
}

/**
 * Writes a file so that a reader (or a crash) sees either the old content or the new,
 * never half of it: write a temp file in the same directory, fsync, rename over.
 */
export async function writeAtomic(path: string, content: Uint8Array | string, mode?: number): Promise<void> {
  await new StagedWrite(path, content, mode).commit();
}

export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
