import type { KeyObject } from 'node:crypto';
import { signSafeDefault, verifySafeDefault, type Declarations, type FailsmallError, type ModuleDecl, type Warning } from '@failsmall/core';

/** What the control plane trusts, from its own configuration (never from an API call). */
export interface DeclarationTrust {
  /** Signs safe defaults declared without a signature (serve --signing-key). */
  readonly signer?: KeyObject;
  /** Checks safe defaults declared with a signature (the signer's public half, or serve --verify-key). */
  readonly verifier?: KeyObject;
  /** Per artifact: the validator command this server runs at push (serve --validator NAME=COMMAND). */
  readonly validators: Readonly<Record<string, string>>;
}

/**
 * The checks at apply that only the control plane can make. Located by path; the parser adds
 * file, line and column.
 * - A safe default is bytes an agent writes into a module: a signature given with it must verify;
 *   one given without is signed by this server if it holds the key (`seal`), else agents with a
 *   public key will not write it, which is worth a warning.
 * - A validator command runs on the control plane, so it must come from the server's own
 *   configuration: a declaration may name one only if the server was started with that very
 *   command for that artifact. An admin token alone can no longer run a shell command here.
 */
export function checkDeclarations(d: Declarations, trust: DeclarationTrust): { errors: FailsmallError[]; warnings: Warning[] } {
  const errors: FailsmallError[] = [];
  const warnings: Warning[] = [];
  for (const m of d.modules) {
    if (m.safe_default === undefined) continue;
    if (m.safe_default_signature !== undefined) {
      if (!trust.verifier) {
        warnings.push({ severity: 'warning', code: 'SIGNATURE_UNCHECKED', path: `modules.${m.name}.safe_default_signature`, message: `the safe default of ${m.name} is signed, but this control plane has no key to check it with`, hint: 'start the server with --verify-key PUBLIC_KEY; agents check it anyway' });
        continue;
      }
      const v = verifySafeDefault(trust.verifier, m.name, m.safe_default, m.safe_default_signature);
      if (!v.ok) errors.push({ code: 'BAD_SIGNATURE', path: `modules.${m.name}.safe_default_signature`, message: v.message, hint: 'sign the exact safe_default text for this module: failsmall artifact sign-default MODULE FILE --key KEY' });
    } else if (!trust.signer) {
      warnings.push({ severity: 'warning', code: 'UNSIGNED_SAFE_DEFAULT', path: `modules.${m.name}.safe_default`, message: `the safe default of ${m.name} is unsigned and this control plane has no signing key: agents with a public key will not write it, and ${m.name} will be left empty instead`, hint: 'add safe_default_signature (failsmall artifact sign-default), or give agents the default as a file (failsmall agent --safe-default MODULE=FILE)' });
    }
  }
  for (const a of d.artifacts) {
    const declared = a.validation.command;
    if (declared === undefined) continue;
    const configured = trust.validators[a.name];
    if (configured === declared) continue;
    errors.push({
      code: 'VALIDATOR_NOT_CONFIGURED', path: `artifacts.${a.name}.validation.command`,
      message: configured === undefined
        ? `artifact ${a.name} declares the validator command "${clip(declared)}", which this control plane is not configured to run`
        : `artifact ${a.name} declares the validator command "${clip(declared)}", but this control plane runs "${clip(configured)}" for it`,
      hint: `validator commands run on the control plane, so they come from its own configuration: start it with --validator ${a.name}='${clip(declared)}', or drop command from the declaration`,
    });
  }
  return { errors, warnings };
}

/** Signs the safe defaults declared without a signature, when this server holds the signing key. */
export function sealSafeDefaults(modules: readonly ModuleDecl[], signer: KeyObject | undefined): ModuleDecl[] {
  return modules.map((m) => (m.safe_default !== undefined && m.safe_default_signature === undefined && signer
    ? { ...m, safe_default_signature: signSafeDefault(signer, m.name, m.safe_default) }
    : m));
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
