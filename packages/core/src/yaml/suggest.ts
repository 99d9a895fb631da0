/**
 * "Did you mean" hints for misspelt keys and names.
 *
 * Examples
 *   suggest('treshold', ['threshold', 'window']) // 'threshold'
 *   suggest('zzz', ['threshold'])                // undefined
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // Allow roughly one typo per three characters, so short words do not match everything.
  const allowed = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= allowed ? best : undefined;
}

/** A hint naming the closest candidate, or listing them all when none is close. */
export function didYouMean(word: string, candidates: readonly string[], noun: string): string {
  const close = suggest(word, candidates);
  if (close !== undefined) return `did you mean "${close}"?`;
  if (candidates.length === 0) return `no ${noun} is allowed here`;
  return `allowed ${noun}: ${candidates.join(', ')}`;
}

/** Levenshtein distance, with adjacent transpositions counted as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(d, i - 1, j) + 1, at(d, i, j - 1) + 1, at(d, i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(d, i - 2, j - 2) + 1);
      setAt(d, i, j, v);
    }
  }
  return at(d, rows - 1, cols - 1);
}

function at(d: number[][], i: number, j: number): number {
  return d[i]?.[j] ?? Infinity;
}

function setAt(d: number[][], i: number, j: number, v: number): void {
  const row = d[i];
  if (row) row[j] = v;
}
