import { readFile } from 'node:fs/promises';
import { formatError } from '@failsmall/core';
import { formatReport } from './report.ts';
import { parseScenario } from './scenario/parse.ts';
import { simulate } from './simulate.ts';

export interface SimulateCommandOptions {
  readonly json?: boolean;
  readonly seed?: string;
  readonly nodes?: string;
}

/** Where the command writes; the CLI passes process streams, tests pass buffers. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

const processIO: CommandIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * `failsmall simulate SCENARIO.yaml [--json] [--seed N] [--nodes N]`. Returns the exit code:
 * 0 with the table (or JSON) on stdout, 1 with `file:line:col: message [CODE]` errors on stderr.
 *
 * Examples
 *   process.exitCode = await runSimulateCommand('examples/scenarios/nov18-oversized-feature-file.yaml', { json: true });
 */
export async function runSimulateCommand(file: string, opts: SimulateCommandOptions, io: CommandIO = processIO): Promise<number> {
  const seed = parseCount(opts.seed, '--seed', 0, io);
  const nodes = parseCount(opts.nodes, '--nodes', 1, io);
  if (seed === null || nodes === null) return 1;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE';
    io.err(`${formatError({ code, message: `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, file, hint: 'give the path of a scenario file, e.g. examples/scenarios/nov18-oversized-feature-file.yaml' })}\n`);
    return 1;
  }
  const parsed = parseScenario(text, { file });
  if (!parsed.ok) {
    for (const e of parsed.errors) io.err(`${formatError(e)}\n`);
    for (const w of parsed.warnings) io.err(`${formatError(w)}\n`);
    return 1;
  }
  for (const w of parsed.warnings) io.err(`${formatError(w)}\n`);
  const report = simulate(parsed.value, { ...(seed !== undefined ? { seed } : {}), ...(nodes !== undefined ? { nodes } : {}) });
  io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  return 0;
}

function parseCount(text: string | undefined, flag: string, min: number, io: CommandIO): number | undefined | null {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (/^\d+$/.test(text.trim()) && Number.isSafeInteger(n) && n >= min && (flag !== '--nodes' || n <= 200_000)) return n;
  io.err(`${formatError({ code: 'BAD_FLAG', message: `${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ''}${flag === '--nodes' ? ' and at most 200000' : ''}, got "${text}"`, hint: `e.g. ${flag} ${flag === '--seed' ? '42' : '1000'}` })}\n`);
  return null;
}
