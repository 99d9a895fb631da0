/**
 * The dependency policy gate: an artifact version's manifest declares what it depends on,
 * and a rollout that adds a hard dependency (or a soft one with no fallback) is refused at
 * start unless an approver overrides it.
 */
export * from './types.ts';
export { checkDependencyChange, isEffectivelyHard } from './gate.ts';
export { parseManifest, MANIFEST_KEYS, MANIFEST_LIMITS, MANIFEST_ERROR_CODES, MANIFEST_WARNING_CODES } from './manifest.ts';
