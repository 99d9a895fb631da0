import type { DependencyEdge } from '../audit/types.ts';

/**
 * What an artifact version declares about itself when it is pushed. Its `depends_on` edges
 * have the shape of the dependency audit's graph file: `hard: true` when the module is down
 * whenever `on` is down, `hard: false` with a `fallback` when it keeps working without it.
 */
export interface VersionManifest {
  readonly depends_on: readonly DependencyEdge[];
}

/**
 * `new-hard-dependency`: the version adds `hard: true` on something the current version does
 * not depend on hard. `soft-without-fallback`: it adds a soft dependency with no fallback,
 * which is a hard one in disguise.
 */
export type DependencyFindingKind = 'new-hard-dependency' | 'soft-without-fallback';

/** One reason the dependency gate refuses a rollout, with the sentence that explains it. */
export interface DependencyFinding {
  readonly dependency: string;
  readonly kind: DependencyFindingKind;
  /** The edge as the current version declares it; null when it does not depend on it at all. */
  readonly was: { readonly hard: boolean; readonly fallback?: string } | null;
  /** One sentence, e.g. `adds a hard dependency on bot-check: …`. */
  readonly reason: string;
}
