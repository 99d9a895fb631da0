import type { ModuleDecl } from '../policy/types.ts';
import { verifySafeDefault, type TrustedKeys } from '../signing/index.ts';

export type OnFailure = Pick<ModuleDecl, 'on_load_failure' | 'safe_default' | 'safe_default_signature' | 'reason'>;

export interface SafeDefaultTrust {
  /** The node's own safe default for this module (agent --safe-default): node-local, trusted as is. */
  readonly local?: string;
  /** The artifact key's public half: a declared safe default must be signed by it. */
  readonly publicKey?: TrustedKeys;
  /** Development only: with no public key, take a declared safe default unsigned. */
  readonly allowUnsigned?: boolean;
}

/**
 * The module's failure policy as a node may act on it: only bytes the node trusts are kept as
 * the safe default. A safe default is written into the module like a version, so the one that
 * came from the control plane must carry the artifact key's signature; the node's own file
 * needs none. A refused one is dropped (the module fails to empty instead) and the reason returned.
 * Pure: the agent and the simulator decide the same way.
 */
export function trustedOnFailure(module: string, declared: OnFailure | undefined, trust: SafeDefaultTrust): { onFailure: OnFailure | undefined; problem?: string } {
  if (declared === undefined) return { onFailure: undefined };
  if (trust.local !== undefined) {
    const { safe_default_signature: _signature, ...rest } = declared;
    return { onFailure: { ...rest, safe_default: trust.local } };
  }
  if (declared.safe_default === undefined) return { onFailure: declared };
  const { safe_default: _default, safe_default_signature: _sig, ...without } = declared;
  if (!trust.publicKey) {
    return trust.allowUnsigned
      ? { onFailure: declared }
      : { onFailure: without, problem: `the safe default of ${module} cannot be checked: this agent has no artifact public key (pass --public-key, or give the default as a file with --safe-default ${module}=FILE)` };
  }
  const v = verifySafeDefault(trust.publicKey, module, declared.safe_default, declared.safe_default_signature);
  return v.ok ? { onFailure: declared } : { onFailure: without, problem: `${v.message}; it will not be written into ${module}` };
}
