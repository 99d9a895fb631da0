/**
 * Plain aligned columns: the one text table every failsmall command prints when its output is
 * not a terminal (a pipe, a file, a CI log). No borders and no rule under the header, so `grep`,
 * `awk` and `cut` see one record a line; the CLI draws box tables only on a TTY
 * (packages/cli/src/table.ts). Pure, so docs and tests see exactly what a pipe sees.
 *
 * Examples
 *   plainTable(['node', 'serving'], [['n1', 'features@v2']])
 *   // 'node  serving\nn1    features@v2'
 */
export interface PlainTableOptions {
  /** Put before every line (the audit indents its tables under their titles). */
  readonly indent?: string;
  /** Per column; `right` for numbers. Default left. */
  readonly align?: readonly ('left' | 'right')[];
}

export function plainTable(head: readonly string[], rows: readonly (readonly string[])[], opts: PlainTableOptions = {}): string {
  // A cell with several lines (a node serving two artifacts) stays on its record's one line.
  const flat = [head, ...rows].map((r) => head.map((_, i) => (r[i] ?? '').replaceAll('\n', '; ')));
  const widths = head.map((_, i) => Math.max(...flat.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `${opts.indent ?? ''}${cells.map((c, i) => {
    const last = i === cells.length - 1;
    if (opts.align?.[i] === 'right') return c.padStart(widths[i] ?? 0);
    return last ? c : c.padEnd(widths[i] ?? 0);
  }).join('  ')}`.trimEnd();
  return flat.map(line).join('\n');
}
