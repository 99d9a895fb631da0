import { createHash } from 'node:crypto';
import type { DependencyFinding } from './types.ts';

/**
 * A second person's approval to take one version past the dependency gate. It is made by the
 * approver with their own API token (so the name on it is authenticated, not typed by the
 * person who starts the rollout), covers exactly the findings it was made against, expires,
 * and is spent by the rollout it lets through.
 */
export interface GateApproval {
  readonly id: string;
  readonly artifact: string;
  readonly version: string;
  /** The version that was current when it was approved: the findings are relative to it. */
  readonly from_version: string | null;
  readonly findings: readonly DependencyFinding[];
  /** `findingsDigest(findings)`: a different set of findings is not covered. */
  readonly digest: string;
  /** The approver's token name. */
  readonly approver: string;
  readonly reason: string;
  readonly created_at: number;
  readonly expires_at: number;
  /** The rollout that spent it; null while it is unused. */
  readonly used_by: string | null;
  readonly used_at: number | null;
}

/** Longest an approval may wait to be used: a review goes stale as the estate changes. */
export const MAX_APPROVAL_TTL_MS = 7 * 24 * 3600_000;
export const DEFAULT_APPROVAL_TTL_MS = 24 * 3600_000;

/**
 * A stable digest of a set of findings (dependency, kind and the old edge), independent of
 * order and of the wording of the reasons, so an approval covers the same change however the
 * sentences are phrased in a later release.
 */
export function findingsDigest(findings: readonly DependencyFinding[]): string {
  const keys = findings.map((f) => JSON.stringify([f.dependency, f.kind, f.was?.hard ?? null, f.was?.fallback ?? null])).sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex');
}

/**
 * How two token names are compared: Unicode NFKC, trimmed, inner whitespace collapsed, case
 * folded. "Alice", " alice " and "ＡＬＩＣＥ" are one person.
 */
export function personKey(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Which token created which, by person key (null for the first admin token, or one made
 * before tokens recorded their creator).
 */
export type TokenLineage = ReadonlyMap<string, string | null>;

/**
 * Whether two tokens may count as one person: the same name, or one created the other (however
 * many tokens lie between). Whoever can mint a token can approve with it, so an admin who made
 * "bob" cannot approve what "bob" starts, nor the other way round.
 */
export function sameSide(a: string, b: string, lineage: TokenLineage = new Map()): boolean {
  const ka = personKey(a);
  const kb = personKey(b);
  return ka === kb || ancestors(ka, lineage).has(kb) || ancestors(kb, lineage).has(ka);
}

function ancestors(key: string, lineage: TokenLineage): Set<string> {
  const seen = new Set<string>();
  for (let k = lineage.get(key) ?? null; k !== null && !seen.has(k); k = lineage.get(k) ?? null) seen.add(k);
  return seen;
}

export type ApprovalCheck =
  | { readonly ok: true; readonly approval: GateApproval }
  | { readonly ok: false; readonly code: 'NO_APPROVAL' | 'SELF_APPROVAL'; readonly message: string; readonly hint: string };

/**
 * Which of the approvals on record lets `caller` take this version past the gate now, if any.
 * Pure: the caller passes the approvals for the artifact and version, the current findings and
 * the clock, and which token created which. An approval by the caller, or by a token the caller
 * made or that made the caller's, never counts (four eyes); a spent, expired or
 * stale one (made against other findings) does not either, and the answer says which.
 */
export function pickApproval(approvals: readonly GateApproval[], findings: readonly DependencyFinding[], caller: string, now: number, lineage: TokenLineage = new Map()): ApprovalCheck {
  const digest = findingsDigest(findings);
  const own = (a: GateApproval) => sameSide(a.approver, caller, lineage);
  const usable = approvals.filter((a) => a.used_by === null && a.expires_at > now && a.digest === digest);
  const other = usable.find((a) => !own(a));
  if (other) return { ok: true, approval: other };
  const artifact = approvals[0]?.artifact ?? 'ARTIFACT';
  const version = approvals[0]?.version ?? 'VERSION';
  const ask = `ask someone else to review the new dependencies and run, with their own token: failsmall rollout approve ${artifact} ${version} --reason TEXT`;
  if (usable.some(own)) {
    const by = usable.find(own)?.approver ?? caller;
    const who = personKey(by) === personKey(caller) ? `${caller}, who is starting this rollout` : `${by}, whose token and ${caller}'s were made one from the other`;
    return { ok: false, code: 'SELF_APPROVAL', message: `the only approval on record is by ${who}: an approval must come from someone else`, hint: ask };
  }
  const why = approvals.length === 0 ? 'no approval is on record for this version'
    : approvals.every((a) => a.used_by !== null) ? `every approval on record was already used (by ${approvals.map((a) => a.used_by).join(', ')})`
    : approvals.some((a) => a.used_by === null && a.digest !== digest) ? 'the approval on record was made against other findings (the current version has changed since)'
    : 'the approval on record has expired';
  return { ok: false, code: 'NO_APPROVAL', message: why, hint: ask };
}
