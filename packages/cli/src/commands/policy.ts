import { readFile } from 'node:fs/promises';
import { formatError, parseDeclarations, type Declarations } from '@failsmall/core';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';

/**
 * `failsmall policy validate FILE [--with FILE...]`: parses and lints locally, without a
 * server. Files given with --with lend their declarations (modules, artifacts) to FILE.
 */
export async function policyValidate(file: string, withFiles: string[], out: Out): Promise<number> {
  const known: { modules: Declarations['modules'][number][]; artifacts: Declarations['artifacts'][number][]; policies: Declarations['policies'][number][] } = { modules: [], artifacts: [], policies: [] };
  for (const w of withFiles) {
    const text = await readText(w, out);
    if (text === undefined) return EXIT.INVALID;
    const parsed = parseDeclarations(text, { file: w });
    if (!parsed.ok) {
      report(out, w, parsed.errors, parsed.warnings);
      return EXIT.INVALID;
    }
    known.modules.push(...parsed.value.modules);
    known.artifacts.push(...parsed.value.artifacts);
    known.policies.push(...parsed.value.policies);
  }
  const text = await readText(file, out);
  if (text === undefined) return EXIT.INVALID;
  const parsed = parseDeclarations(text, { file, known });
  if (!parsed.ok) {
    report(out, file, parsed.errors, parsed.warnings);
    return EXIT.INVALID;
  }
  out.data({ ok: true, file, errors: [], warnings: parsed.warnings, declarations: parsed.value });
  for (const w of parsed.warnings) out.line(formatError(w));
  const d = parsed.value;
  out.line(`${file}: valid — ${d.modules.length} modules, ${d.artifacts.length} artifacts, ${d.policies.length} policies${parsed.warnings.length ? `, ${parsed.warnings.length} warnings` : ''}`);
  for (const p of d.policies) out.line(`  policy ${p.name}: ${p.stages.map((s) => `${s.name} (${s.scope.text}, ${s.health_gates.length} gates)`).join(' → ')}`);
  return EXIT.OK;
}

function report(out: Out, file: string, errors: readonly { code: string; message: string }[], warnings: readonly unknown[]): void {
  out.data({ ok: false, file, errors, warnings });
  if (!out.json) for (const e of errors) process.stderr.write(`${formatError(e)}\n`);
}

async function readText(file: string, out: Out): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const e = { code: 'FILE_UNREADABLE', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, hint: 'check the path', file };
    out.data({ ok: false, file, errors: [e], warnings: [] });
    if (!out.json) process.stderr.write(`${formatError(e)}\n`);
    return undefined;
  }
}
