import { createHash } from 'node:crypto';
import { countEntries } from '@failsmall/core';
import type { ContentPredicate, ContentSource } from './scenario/types.ts';

/**
 * One distinct version of the artifact in a run. Versions are content-addressed, as in
 * failsmall: the same bytes pushed twice are the same version.
 */
export interface SimVersion {
  readonly index: number;
  readonly label: string;
  readonly content: Uint8Array;
  readonly sha256: string;
  readonly entries: number;
}

/**
 * The bytes of a content source. The generator writes a feature file: a JSON array (or one
 * line per entry) of named features; `doubled` repeats every entry, as the 18 November
 * query did when it returned each column twice.
 *
 * Examples
 *   renderContent({ type: 'generate', entries: 2, doubled: true, format: 'lines' })
 *   // "feature_0001 0.3819\nfeature_0001 0.3819\nfeature_0002 0.7639\n…"
 */
export function renderContent(source: ContentSource): Uint8Array {
  if (source.type === 'literal') return Buffer.from(source.text, 'utf8');
  const rows: { name: string; weight: number }[] = [];
  for (let i = 1; i <= source.entries; i++) {
    // Fixed, seed-free weights: a regenerated good file is byte-identical to the last one.
    const row = { name: `feature_${String(i).padStart(4, '0')}`, weight: Number(((i * 0.6180339887) % 1).toFixed(4)) };
    rows.push(row);
    if (source.doubled) rows.push(row);
  }
  if (source.format === 'lines') return Buffer.from(rows.map((r) => `${r.name} ${r.weight}\n`).join(''), 'utf8');
  return Buffer.from(`[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`, 'utf8');
}

export function sha256(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Whether a module with this rule cannot handle the version: every condition given must hold. */
export function matchesPredicate(p: ContentPredicate, v: SimVersion): boolean {
  if (p.entries_over !== undefined && !(v.entries > p.entries_over)) return false;
  if (p.bytes_over !== undefined && !(v.content.byteLength > p.bytes_over)) return false;
  if (p.contains !== undefined && !Buffer.from(v.content).toString('utf8').includes(p.contains)) return false;
  if (p.version !== undefined && p.version !== v.label) return false;
  return true;
}

/** Keeps one SimVersion per distinct content, labelled v0, v1, … in order of first appearance. */
export class VersionCatalog {
  readonly versions: SimVersion[] = [];
  readonly #bySha = new Map<string, SimVersion>();

  intern(content: Uint8Array, label: string | null): SimVersion {
    const sha = sha256(content);
    const known = this.#bySha.get(sha);
    if (known) return known;
    const v: SimVersion = { index: this.versions.length, label: label ?? `v${this.versions.length}`, content, sha256: sha, entries: countEntries(content) };
    this.versions.push(v);
    this.#bySha.set(sha, v);
    return v;
  }
}
