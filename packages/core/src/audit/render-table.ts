import { plainTable } from '../text/table.ts';
import { plural } from '../text/plural.ts';
import type { AuditReport, FailClosedReview } from './types.ts';

/** Draws one table; the CLI passes its own (box on a terminal, plain aligned columns otherwise). */
export type TableRenderer = (head: readonly string[], rows: readonly (readonly string[])[], opts: { readonly indent: string }) => string;

/**
 * The audit as plain text: one table per kind of finding, then a verdict line that says
 * what the exit code will be. Pure and width-independent, so tests and CI logs see the
 * same text as a pipe; the CLI draws boxes on a terminal through `opts.table`.
 *
 * Examples
 *   process.stdout.write(renderAuditTable(report, { file: 'examples/estate.yaml' }));
 */
export function renderAuditTable(report: AuditReport, opts: { readonly file?: string; readonly table?: TableRenderer } = {}): string {
  const s = report.summary;
  const table = opts.table ?? plainTable;
  const section = (lines: string[], title: string, head: readonly string[], rows: readonly (readonly string[])[], omitted = 0) => addSection(lines, table, title, head, rows, omitted);
  const lines: string[] = [
    `${opts.file !== undefined ? `${opts.file}: ` : ''}${plural(s.services, 'service')}, ${plural(s.breakglass, 'break-glass tool')}, ${plural(s.modules, 'module')}, ${plural(s.edges, 'dependency', 'dependencies')}`,
    '',
  ];
  const o = report.omitted;
  section(lines, `Dependency cycles (${report.cycles.length + o.cycles})`, ['cycle', 'edges'],
    report.cycle_details.map((c) => [c.path.join(' → '), c.all_hard ? 'all hard' : 'includes a soft edge with a fallback']), o.cycles);
  section(lines, `Break-glass tools whose hard dependencies reach what they recover (${report.breakglass_violations.length + o.breakglass_violations})`, ['tool', 'recovers', 'hard path'],
    report.breakglass_violations.map((v) => [v.tool, v.recovers, `${v.path.join(' → ')}${v.assumed_hard.length > 0 ? ` (counts ${v.assumed_hard.map(([a, b]) => `${a} → ${b}`).join(', ')} as hard: no fallback)` : ''}`]), o.breakglass_violations);
  section(lines, `Break-glass tools sharing fate with what they recover (${report.shared_fate.length + o.shared_fate})`, ['tool', 'service', 'label', 'carried by'],
    report.shared_fate.map((f) => [f.tool, f.service, f.label, f.via.length <= 1 ? 'the tool itself' : f.via.join(' → ')]), o.shared_fate);
  const flagged = report.fail_closed_review.filter((r) => r.flagged).length;
  section(lines, `Fail-closed modules (${report.fail_closed_review.length + o.fail_closed_review}, ${flagged}${o.fail_closed_review > 0 ? '+' : ''} flagged)`, ['module', 'verdict', 'reason'],
    report.fail_closed_review.map((r) => [r.module, verdict(r), r.reason === null ? '-' : `"${r.reason}"`]), o.fail_closed_review);
  section(lines, `Soft dependencies without a fallback (${report.missing_fallbacks.length + o.missing_fallbacks})`, ['service', 'depends on', 'at'],
    report.missing_fallbacks.map((m) => [m.service, m.on, m.line !== undefined ? `${opts.file !== undefined ? `${opts.file}:` : 'line '}${m.line}:${m.col ?? 1}` : '-']), o.missing_fallbacks);
  lines.push(report.clean
    ? 'clean: no findings (exit 0)'
    : `${plural(report.findings, 'finding')}: the estate fails the audit (exit 1)`);
  return `${lines.join('\n')}\n`;
}

function verdict(r: FailClosedReview): string {
  if (r.verdict === 'no-reason') return 'FLAGGED: no reason given';
  if (r.verdict === 'no-security-goal') return 'FLAGGED: reason names no security goal';
  return `ok: protects ${r.goals.join(', ')}`;
}

function addSection(lines: string[], table: TableRenderer, title: string, head: readonly string[], rows: readonly (readonly string[])[], omitted: number): void {
  lines.push(title);
  if (rows.length === 0) {
    lines.push('  none', '');
    return;
  }
  lines.push(table(head, rows, { indent: '  ' }));
  if (omitted > 0) lines.push(`  … and ${omitted} more, not listed`);
  lines.push('');
}
