import type { ModuleDecl } from '../policy/types.ts';

/** What a module serves after a load: the new version, its last known-good, its safe default, or nothing. */
export type ModuleState =
  | { readonly state: 'serving'; readonly version: string }
  | { readonly state: 'stale'; readonly version: string }
  | { readonly state: 'fail-open' }
  | { readonly state: 'fail-closed' }
  | { readonly state: 'empty' };

/**
 * The module's declared `on_load_failure`, applied to a refused or failed load. Pure, so the
 * agent, the SDK and the simulator decide the same way.
 *
 * - serve-stale: keep the last known-good version (if there is none: its safe default when it
 *   declares one, else nothing, as before its first load);
 * - fail-open: the module's safe default, whatever was there (with no safe default it can trust,
 *   nothing: an empty file is not a default anyone declared);
 * - fail-closed: stop the module's traffic (the declared reason names the security goal).
 */
export function afterFailedLoad(module: Pick<ModuleDecl, 'on_load_failure' | 'safe_default'>, lastKnownGood: string | null): ModuleState {
  switch (module.on_load_failure) {
    case 'serve-stale':
      if (lastKnownGood !== null) return { state: 'stale', version: lastKnownGood };
      return module.safe_default !== undefined ? { state: 'fail-open' } : { state: 'empty' };
    case 'fail-open':
      return module.safe_default !== undefined ? { state: 'fail-open' } : { state: 'empty' };
    case 'fail-closed':
      return { state: 'fail-closed' };
  }
}
