import { plainTable } from '@failsmall/core';
import Table from 'cli-table3';

/**
 * The one table every command prints. On a terminal: a box drawn by cli-table3 (MIT, the
 * maintained successor of cli-table, already a dependency here; it wraps multi-line cells and
 * measures wide characters, which a hand-written box would get wrong). Anywhere else, and
 * with NO_COLOR: plain aligned columns (core's plainTable), one record a line for grep and awk.
 * --json never reaches here: commands print their data instead.
 */
export interface TableOptions {
  readonly indent?: string;
  readonly align?: readonly ('left' | 'right')[];
  /** Decided by the caller only in tests; default: stdout is a TTY and NO_COLOR is unset. */
  readonly box?: boolean;
}

export function renderTable(head: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions = {}): string {
  if (!(opts.box ?? boxes())) return plainTable(head, rows, opts);
  const table = new Table({
    head: [...head],
    style: { head: [], border: [] }, // no colours: the box is the only decoration
    ...(opts.align ? { colAligns: opts.align.map((a) => (a === 'right' ? 'right' : 'left')) } : {}),
  });
  table.push(...rows.map((r) => [...r]));
  const indent = opts.indent ?? '';
  return table.toString().split('\n').map((l) => `${indent}${l}`).join('\n');
}

/** Box tables only where a person reads them: a terminal that did not ask for plain output. */
export function boxes(): boolean {
  return process.stdout.isTTY === true && (process.env.NO_COLOR ?? '') === '';
}
