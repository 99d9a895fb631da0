import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runSimulateCommand } from '../src/index.ts';
import { root } from './helpers.ts';

function capture(): { io: { out(t: string): void; err(t: string): void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => { out += t; }, err: (t) => { err += t; } }, out: () => out, err: () => err };
}

const scenario = fileURLToPath(new URL('examples/scenarios/latency-regression.yaml', root));

describe('failsmall simulate', () => {
  it('prints the JSON report and exits 0', async () => {
    const c = capture();
    const code = await runSimulateCommand(scenario, { json: true, nodes: '200', seed: '9' }, c.io);
    assert.equal(code, 0, c.err());
    const report = JSON.parse(c.out()) as { seed: number; nodes: number; regimes: Record<string, { total_requests: number }> };
    assert.equal(report.seed, 9);
    assert.equal(report.nodes, 200);
    assert.deepEqual(Object.keys(report.regimes), ['global-push', 'staged', 'staged-safe-loader']);
  });

  it('prints the table by default', async () => {
    const c = capture();
    assert.equal(await runSimulateCommand(scenario, { nodes: '200' }, c.io), 0);
    assert.match(c.out(), /failed vs global-push/);
  });

  it('prints file:line:col errors with a hint and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-sim-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(scenario, 'utf8').replace('duration: 45m', 'duration: 45'));
    const c = capture();
    assert.equal(await runSimulateCommand(file, {}, c.io), 1);
    assert.equal(c.out(), '');
    assert.match(c.err(), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7:11: duration 45 has no unit \\[BAD_DURATION\\]\\n  hint: `));
  });

  it('refuses a missing file and a bad --seed', async () => {
    const c = capture();
    assert.equal(await runSimulateCommand('/nonexistent/scenario.yaml', {}, c.io), 1);
    assert.match(c.err(), /FILE_NOT_FOUND/);
    const d = capture();
    assert.equal(await runSimulateCommand(scenario, { seed: 'abc' }, d.io), 1);
    assert.match(d.err(), /--seed must be a whole number.*\[BAD_FLAG\]/);
  });
});
