import { readFile } from 'node:fs/promises';
import { formatError, parseDeclarations, type FailsmallError, type ModuleDecl, type Warning } from '@failsmall/core';
// The audit lives in core beside the policy parser it reuses; core's index does not re-export it yet.
import { auditDependencies, parseEstate, renderAuditDot, renderAuditMermaid, renderAuditTable } from '@failsmall/core';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';

/** `audit deps` is a CI gate, so its exit codes say what the gate needs, not EXIT's API-shaped ones. */
export const AUDIT_EXIT = {
  /** No findings. */
  CLEAN: 0,
  /** At least one finding. */
  FINDINGS: 1,
  /** The graph file (or a --with file) is unreadable or invalid. */
  BAD_INPUT: 2,
} as const;

export type AuditFormat = 'table' | 'mermaid' | 'dot';

export interface AuditDepsOptions {
  /** Declarations files whose modules are reviewed with the graph file's own. */
  readonly with: readonly string[];
  readonly format: AuditFormat;
}

/**
 * `failsmall audit deps GRAPH.yaml [--with DECLARATIONS.yaml] [--json] [--format table|mermaid|dot]`:
 * reads an estate's dependency graph and reports cycles, break-glass tools that depend on
 * or share fate with what they recover, fail-closed modules and soft edges without a
 * fallback. Exit 0 clean, 1 findings, 2 bad input.
 */
export async function auditDeps(file: string, opts: AuditDepsOptions, out: Out): Promise<number> {
  const modules: ModuleDecl[] = [];
  for (const w of opts.with) {
    const text = await readText(w);
    if (typeof text !== 'string') return badInput(out, file, [text], []);
    const parsed = parseDeclarations(text, { file: w });
    if (!parsed.ok) return badInput(out, file, parsed.errors, parsed.warnings);
    modules.push(...parsed.value.modules);
  }
  const text = await readText(file);
  if (typeof text !== 'string') return badInput(out, file, [text], []);
  const parsed = parseEstate(text, { file, modules });
  if (!parsed.ok) return badInput(out, file, parsed.errors, parsed.warnings);
  const { graph } = parsed.value;
  const report = auditDependencies(graph, parsed.value.modules);
  const diagram = opts.format === 'mermaid' ? renderAuditMermaid(graph, report) : opts.format === 'dot' ? renderAuditDot(graph, report) : undefined;
  out.data({ ok: true, file, ...report, warnings: parsed.warnings, ...(diagram !== undefined ? { format: opts.format, diagram } : {}) });
  if (!out.json) {
    for (const w of parsed.warnings) process.stderr.write(`${formatError(w)}\n`);
    if (diagram !== undefined) {
      process.stdout.write(diagram);
      process.stderr.write(`${report.clean ? 'clean: no findings' : `${report.findings} findings (highlighted)`}\n`);
    } else {
      process.stdout.write(renderAuditTable(report, { file, table: renderTable }));
    }
  }
  return report.clean ? AUDIT_EXIT.CLEAN : AUDIT_EXIT.FINDINGS;
}

function badInput(out: Out, file: string, errors: readonly FailsmallError[], warnings: readonly Warning[]): number {
  out.data({ ok: false, file, errors, warnings });
  if (!out.json) for (const e of [...errors, ...warnings]) process.stderr.write(`${formatError(e)}\n`);
  return AUDIT_EXIT.BAD_INPUT;
}

async function readText(file: string): Promise<string | FailsmallError> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : String(err);
    return { code: 'FILE_UNREADABLE', message: `cannot read ${file}: ${code}`, hint: 'check the path', file };
  }
}
