/**
 * The dependency policy gate: an artifact version's manifest declares what it depends on,
 * and a rollout that adds a hard dependency (or a soft one with no fallback) is refused at
 * start unless a second person, with their own token, approves taking it past the gate.
 */
export * from './types.ts';
export { checkDependencyChange, isEffectivelyHard } from './gate.ts';
export { parseManifest, MANIFEST_KEYS, MANIFEST_LIMITS, MANIFEST_ERROR_CODES, MANIFEST_WARNING_CODES } from './manifest.ts';
export {
  DEFAULT_APPROVAL_TTL_MS, findingsDigest, MAX_APPROVAL_TTL_MS, personKey, pickApproval, sameSide,
  type ApprovalCheck, type GateApproval, type TokenLineage,
} from './approval.ts';
