import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '@failsmall/core';
import { parseTriageScenario } from './parse.ts';
import type { TriageScenario } from './types.ts';

/**
 * Reads every `*.yaml` file of a directory as a triage scenario, in name order. The shell
 * around the pure parser, for the benchmark and the tests that run the labelled set.
 *
 * Examples
 *   for (const { file, parsed } of loadTriageScenarios('examples/triage')) if (!parsed.ok) console.error(file);
 */
export function loadTriageScenarios(dir: string): { readonly file: string; readonly parsed: Result<TriageScenario> }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      return { file, parsed: parseTriageScenario(readFileSync(file, 'utf8'), { file }) };
    });
}
