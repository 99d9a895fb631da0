import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { nodeFiles, type Files } from './file-system.ts';

export interface LastKnownGoodCopy {
  readonly version: string;
  readonly sha256: string;
  readonly content: Buffer;
}

/** A last known-good save begun by `prepare`: exactly one of commit or discard follows. */
export interface PreparedSave {
  /** Makes the file at `servedPath` (its bytes are `content`) the last known-good. */
  commit(servedPath: string, content: Buffer): Promise<void>;
  discard(): Promise<void>;
}

export type LkgRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly copy: LastKnownGoodCopy }
  | { readonly kind: 'corrupt'; readonly reason: string };

/**
 * The last version of each artifact that both validated and applied, kept on disk beside
 * its metadata. Every read checks the content against the recorded sha256, so a corrupted
 * copy is detected, reported, and never served.
 *
 * Layout: `.lkg/NAME.bytes` and `.lkg/NAME.meta.json`. The two suffixes differ, so no two
 * artifact names can share a file (the earlier `.lkg/NAME` beside `.lkg/NAME.json` let the
 * artifact "X.json" overwrite the metadata of "X"). Copies in the earlier layout are still read.
 */
export class LastKnownGood {
  readonly #dir: string;
  readonly #files: Files;

  /** `files`: where the copies are kept (default node:fs); the safe loader passes its own. */
  constructor(dir: string, files: Files = nodeFiles) {
    this.#dir = join(dir, '.lkg');
    this.#files = files;
  }

  #bytes(artifact: string): string { return join(this.#dir, `${artifact}.bytes`); }
  #meta(artifact: string): string { return join(this.#dir, `${artifact}.meta.json`); }

  async save(artifact: string, copy: LastKnownGoodCopy): Promise<void> {
    // Content first, then the metadata that vouches for it: a crash in between leaves a
    // mismatch that the next read reports as corrupt, never a wrong version accepted.
    await this.#files.writeAtomic(this.#bytes(artifact), copy.content);
    await this.#files.writeAtomic(this.#meta(artifact), JSON.stringify({ version: copy.version, sha256: copy.sha256 }));
  }

  /**
   * Saves the file just applied at `servedPath` as the last known-good without copying it: a
   * hard link to the same bytes (the served path is only ever replaced by rename, never
   * rewritten in place, so the link keeps this version's content). Falls back to a copy.
   */
  async saveServed(artifact: string, servedPath: string, copy: LastKnownGoodCopy): Promise<void> {
    await this.prepare(artifact, copy).commit(servedPath, copy.content);
  }

  /**
   * Begins `saveServed` before the module has taken the version: the metadata is written and
   * fsynced now, while the loader checks the bytes, and `commit` only links and renames.
   */
  prepare(artifact: string, meta: Pick<LastKnownGoodCopy, 'version' | 'sha256'>): PreparedSave {
    const staged = this.#files.stage(this.#meta(artifact), JSON.stringify({ version: meta.version, sha256: meta.sha256 }));
    const bytes = this.#bytes(artifact);
    return {
      commit: async (servedPath, content) => {
        try {
          await staged.written();
        } catch (err) {
          await staged.discard();
          throw err;
        }
        // Content first, then the metadata that vouches for it (as in save). The staged write made the directory.
        if (!this.#files.linkOver?.(servedPath, bytes)) await this.#files.writeAtomic(bytes, content);
        await staged.commit();
      },
      discard: () => staged.discard(),
    };
  }

  async read(artifact: string): Promise<LkgRead> {
    let meta = await this.#files.read(this.#meta(artifact));
    let content = await this.#files.read(this.#bytes(artifact));
    if (!meta && !content) {
      // The earlier layout, from an agent before the upgrade; the checksum below still vouches for it.
      meta = await this.#files.read(join(this.#dir, `${artifact}.json`));
      content = await this.#files.read(join(this.#dir, artifact));
    }
    if (!meta && !content) return { kind: 'none' };
    if (!meta || !content) return { kind: 'corrupt', reason: `last known-good of ${artifact} is incomplete (${meta ? 'content' : 'metadata'} missing)` };
    let parsed: { version?: unknown; sha256?: unknown };
    try {
      parsed = JSON.parse(meta.toString('utf8')) as { version?: unknown; sha256?: unknown };
    } catch {
      return { kind: 'corrupt', reason: `last known-good metadata of ${artifact} is not JSON` };
    }
    if (typeof parsed.version !== 'string' || typeof parsed.sha256 !== 'string') return { kind: 'corrupt', reason: `last known-good metadata of ${artifact} lacks version or sha256` };
    const actual = createHash('sha256').update(content).digest('hex');
    if (actual !== parsed.sha256) return { kind: 'corrupt', reason: `last known-good of ${artifact}@${parsed.version} fails its checksum (sha256 ${actual.slice(0, 12)}… ≠ ${parsed.sha256.slice(0, 12)}…)` };
    return { kind: 'ok', copy: { version: parsed.version, sha256: parsed.sha256, content } };
  }
}
