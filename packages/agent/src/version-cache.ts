import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readIfExists, writeAtomic } from './files.ts';

/**
 * The node's download cache, `DIR/.versions/ARTIFACT@VERSION`: what a retry loads again without
 * a download, and what break-glass `lkg` goes back to with the control plane down. Only a cache:
 * the safe loader checks sha256 and the signature on every use.
 */
export class VersionCache {
  readonly #dir: string;

  constructor(agentDir: string) {
    this.#dir = join(agentDir, '.versions');
  }

  #path(artifact: string, version: string): string {
    return join(this.#dir, `${artifact}@${version}`);
  }

  get(artifact: string, version: string): Promise<Buffer | undefined> {
    return readIfExists(this.#path(artifact, version));
  }

  put(artifact: string, version: string, content: Buffer): Promise<void> {
    return writeAtomic(this.#path(artifact, version), content);
  }

  /** Drops a damaged download (a truncated write, a bad disk), so the retry downloads it again. */
  async drop(artifact: string, version: string): Promise<void> {
    await rm(this.#path(artifact, version), { force: true });
  }

  /**
   * Keeps only `keep` of an artifact's versions, so a node that takes a version an hour for a
   * year does not fill its disk.
   */
  async prune(artifact: string, keep: readonly string[]): Promise<void> {
    const kept = new Set(keep.map((v) => `${artifact}@${v}`));
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return; // nothing cached yet
    }
    for (const name of names) {
      if (name.startsWith(`${artifact}@`) && !kept.has(name)) await rm(join(this.#dir, name), { force: true });
    }
  }
}
