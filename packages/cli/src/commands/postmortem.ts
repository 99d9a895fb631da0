import { writeFile } from 'node:fs/promises';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

/**
 * `failsmall postmortem INCIDENT [--format md|json] [--public] [--out FILE]`: the draft the
 * control plane writes from what it recorded (docs/postmortem.md). Markdown goes to stdout (or
 * FILE); `--format json` (or --json) prints the JSON export.
 */
export async function postmortem(id: string, opts: GlobalOpts & { format?: string; public?: boolean; out?: string }, out: Out): Promise<number> {
  const format = out.json ? 'json' : (opts.format ?? 'md');
  if (format !== 'md' && format !== 'json') throw new CliError('USAGE', `--format ${format}: use md or json`, EXIT.USAGE);
  const query = `format=${format}&audience=${opts.public ? 'public' : 'internal'}`;
  const res = await clientFrom(opts).get<{ raw?: string; postmortem?: unknown }>(`/v1/incidents/${encodeURIComponent(id)}/postmortem?${query}`);
  const text = format === 'md' ? (res.raw ?? '') : `${JSON.stringify(res, null, 2)}\n`;
  if (opts.out) {
    await writeFile(opts.out, text);
    process.stderr.write(`wrote ${opts.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return EXIT.OK;
}
