import { linkSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readIfExists, renameOver, StagedWrite, writeAtomic } from './files.ts';

/** A write begun before it is known whether it will be used: exactly one of commit or discard follows. */
export interface StagedFile {
  /** Resolves once the bytes are durable (not yet in place); rejects when the write failed. */
  written(): Promise<void>;
  /** Puts the bytes in place at once (old content or new, never half); throws when the write failed. */
  commit(): Promise<void>;
  /** Drops the write, unless it was committed. */
  discard(): Promise<void>;
}

/**
 * What the safe loader and the last known-good store need of a filesystem, and no more. It is
 * injected (as Kysely's FileMigrationProvider takes its `fs`) so that tests drive the loader on a
 * Map with no disk, and an embedded runtime can keep the files where it keeps its own. The
 * default, `nodeFiles`, is node:fs with the durability the agent relies on (files.ts).
 */
export interface Files {
  /**
   * Begins writing `content` for `path` now, before the loader knows whether it will be used, so
   * that the disk's work (node: O_DSYNC) overlaps the hashing and parsing of the checks.
   */
  stage(path: string, content: Uint8Array | string): StagedFile;
  /** Replaces `path` so that a reader (or a crash) sees the old content or the new, never half. */
  writeAtomic(path: string, content: Uint8Array | string): Promise<void>;
  /** The content at `path`, or undefined when there is none. */
  read(path: string): Promise<Buffer | undefined>;
  /** Removes `path`; nothing there is not an error. */
  remove(path: string): Promise<void>;
  /**
   * Optional: makes `to` hold the bytes now at `from` without copying them (node: a hard link,
   * renamed over `to`), for the last known-good save on the load path. False when it could not;
   * the caller then writes the bytes itself.
   */
  linkOver?(from: string, to: string): boolean;
}

/** The agent's files on node:fs: staged writes with O_DSYNC, fsync + rename, hard links. */
export const nodeFiles: Files = {
  stage: (path, content) => new StagedWrite(path, content),
  writeAtomic: (path, content) => writeAtomic(path, content),
  read: readIfExists,
  remove: (path) => rm(path, { force: true }),
  linkOver(from, to) {
    // The served path is only ever replaced by rename, never rewritten in place, so a link keeps
    // the bytes it had. Linked beside `to` first, then renamed over it: never a half-made `to`.
    const tmp = join(dirname(to), `.${basename(to)}.${process.pid}.link`);
    try {
      rmSync(tmp, { force: true });
      linkSync(from, tmp);
      renameOver(tmp, to);
      return true;
    } catch {
      rmSync(tmp, { force: true });
      return false;
    }
  },
};
