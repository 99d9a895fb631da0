import { formatDuration } from '@failsmall/core/browser';
import type { ArtifactInfo, RolloutState, VersionInfo } from '../api/types.ts';

/** One version as the Artifacts page lists it: what was pushed, and where it is live now. */
export interface VersionRow extends VersionInfo {
  /** Nodes whose module serves it now. */
  readonly serving: number;
  /** The version every node outside an active rollout should run. */
  readonly current: boolean;
  /** The active rollout taking the fleet to it, or null. */
  readonly rolling_out: string | null;
}

/**
 * Every pushed version, newest first, with how many nodes serve it (GET /v1/fleet's counts, so
 * 10,000 nodes are read as one aggregate), whether it is the current one, and the active rollout
 * taking the fleet to it: what `failsmall artifact versions` prints.
 *
 * Examples
 *   versionRows(versions, 'v1', { v1: 3, v2: 1 }, null)[0] // { version: 'v2', serving: 1, current: false, … }
 */
export function versionRows(versions: readonly VersionInfo[], current: string | null, serving: Readonly<Record<string, number>>, active: Pick<RolloutState, 'id' | 'to_version'> | null): VersionRow[] {
  return [...versions].sort((a, b) => b.created_at - a.created_at || b.version.localeCompare(a.version)).map((v) => ({
    ...v,
    serving: serving[v.version] ?? 0,
    current: v.version === current,
    rolling_out: active !== null && active.to_version === v.version ? active.id : null,
  }));
}

/** `at most 1 KB`, `at most 200 entries`, `a JSON Schema`, `validator …`: an artifact's declared limits, in words. */
export function limitsWords(v: ArtifactInfo['validation']): string[] {
  return [
    v.max_bytes !== undefined ? `at most ${sizeWords(v.max_bytes)}` : '',
    v.max_entries !== undefined ? `at most ${v.max_entries} entries` : '',
    v.json_schema !== undefined ? 'matches a JSON Schema' : '',
    v.command !== undefined ? `passes the validator ${v.command}${v.timeout_ms !== undefined ? ` within ${formatDuration(v.timeout_ms)}` : ''}` : '',
  ].filter((x) => x !== '');
}

/**
 * `512 B`, `1.5 KB`, `64 KB`: a size in bytes as people read it (1 KB = 1024 B).
 *
 * Examples
 *   sizeWords(1536) // '1.5 KB'
 */
export function sizeWords(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let n = bytes / 1024;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return `${n >= 100 || Number.isInteger(n) ? Math.round(n) : n.toFixed(1)} ${units[u]}`;
}
