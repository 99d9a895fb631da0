/**
 * The Artifacts page's view logic: versions newest first with where each is live (nodes serving
 * it, current, being rolled out), declared limits and sizes in words.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VersionInfo } from '../src/api/types.ts';
import { limitsWords, sizeWords, versionRows } from '../src/view/artifacts.ts';

const version = (v: string, created_at: number, o: Partial<VersionInfo> = {}): VersionInfo => ({ artifact: 'features', version: v, sha256: 'ab'.repeat(32), size: 10, forced: false, created_at, signature: 'sig', manifest: null, entries: null, pushed_by: null, signer: null, checks: null, ...o });

test('versions newest first, each with the nodes serving it, whether it is current, and the rollout taking the fleet to it', () => {
  const rows = versionRows([version('v1', 1), version('v3', 3), version('v2', 2, { forced: true })], 'v1', { v1: 3, v3: 1, none: 2 }, { id: 'r-1', to_version: 'v3' });
  assert.deepEqual(rows.map((r) => [r.version, r.serving, r.current, r.rolling_out, r.forced]), [['v3', 1, false, 'r-1', false], ['v2', 0, false, null, true], ['v1', 3, true, null, false]]);
  assert.deepEqual(versionRows([version('v1', 1)], null, {}, null).map((r) => [r.serving, r.current, r.rolling_out]), [[0, false, null]]);
});

test('declared limits and sizes in words', () => {
  assert.deepEqual(limitsWords({ max_bytes: 1_048_576, max_entries: 200, json_schema: {}, command: 'check-rules', timeout_ms: 5000 }), ['at most 1 MB', 'at most 200 entries', 'matches a JSON Schema', 'passes the validator check-rules within 5s']);
  assert.deepEqual(limitsWords({}), []);
  assert.deepEqual([sizeWords(512), sizeWords(1536), sizeWords(64 * 1024), sizeWords(150.4 * 1024), sizeWords(3.25 * 1024 ** 3)], ['512 B', '1.5 KB', '64 KB', '150 KB', '3.3 GB']);
});
