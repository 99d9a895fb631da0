import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseScenario, type Scenario } from '../src/index.ts';

export const root = new URL('../../../', import.meta.url);

/** A shipped scenario, parsed; optionally shrunk (fewer nodes are passed to simulate instead). */
export function shipped(name: string, patch: Partial<Scenario> = {}): Scenario {
  const file = `examples/scenarios/${name}.yaml`;
  const r = parseScenario(readFileSync(new URL(file, root), 'utf8'), { file });
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
  return { ...r.value, ...patch };
}
