import type { VersionCheck, VersionSigner } from '../policy/types.ts';

/**
 * A version's signer in a few words, the same in `failsmall artifact versions` and on the
 * dashboard's Artifacts page.
 *
 * Examples
 *   signerWords('c2ln…', { by: 'control-plane', key: 'sha256:3f1c9a0e5b7d2c44', verified: true })
 *   // 'sha256:3f1c9a0e5b7d2c44 (control plane)'
 *   signerWords(null, null) // 'not signed'
 */
export function signerWords(signature: string | null, signer: VersionSigner | null): string {
  if (!signature) return 'not signed';
  // Pushed before the control plane recorded who signed: only that there is a signature is known.
  if (!signer) return 'signed (ed25519)';
  const by = signer.by === 'control-plane' ? 'control plane' : 'offline';
  return signer.key ? `${signer.key} (${by})` : `${by} key, not verified by the control plane`;
}

/**
 * The checks a version ran at push, in one line: all passed, or the ones that did not.
 *
 * Examples
 *   checksSummary([{ check: 'max_bytes', outcome: 'passed', message: '…' }]) // '1 of 1 passed'
 *   checksSummary([{ check: 'max_entries', outcome: 'failed', message: '…' }, { check: 'json_schema', outcome: 'skipped', message: '…' }])
 *   // 'max_entries failed, json_schema skipped'
 *   checksSummary(null) // 'not recorded'
 */
export function checksSummary(checks: readonly VersionCheck[] | null): string {
  if (checks === null) return 'not recorded';
  if (checks.length === 0) return 'none declared';
  const notPassed = checks.filter((c) => c.outcome !== 'passed');
  if (notPassed.length === 0) return `${checks.length} of ${checks.length} passed`;
  return notPassed.map((c) => `${c.check} ${c.outcome}`).join(', ');
}
