import { join } from 'node:path';
import { runCommand } from '@failsmall/io';
import type { Files } from './file-system.ts';
import type { LoadRequest, Verdict } from './loader.ts';

/** What a validator is shown: one version of one artifact, its bytes in hand. */
export type Candidate = Pick<LoadRequest, 'artifact' | 'module' | 'version'> & { readonly content: Buffer };

/**
 * The node's own check of an artifact's candidate, after the declared ones (limits, JSON Schema)
 * passed: refusing it refuses the version (stage validate, code COMMAND). An interface, so that
 * tests and an embedded runtime check in process; the agent's is a command configured on the node
 * (`commandValidator`), never one received from the network.
 */
export interface Validator {
  validate(candidate: Candidate): Promise<Verdict>;
}

/**
 * Runs `command` on the candidate: the bytes on stdin and in a staging file under `dir/.staging/`
 * (FAILSMALL_FILE, with FAILSMALL_ARTIFACT and FAILSMALL_VERSION); exit 0 accepts. It is killed at
 * `timeoutMs`, which refuses the candidate.
 */
export function commandValidator(command: string, o: { readonly dir: string; readonly files: Files; readonly timeoutMs: number }): Validator {
  return {
    async validate(c) {
      const staging = join(o.dir, '.staging', c.artifact);
      await o.files.writeAtomic(staging, c.content);
      const r = await runCommand(command, { stdin: c.content, env: { FAILSMALL_FILE: staging, FAILSMALL_ARTIFACT: c.artifact, FAILSMALL_VERSION: c.version ?? '' }, timeoutMs: o.timeoutMs, what: 'validator command' });
      await o.files.remove(staging);
      return r;
    },
  };
}
