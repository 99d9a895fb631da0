import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatError, TRIAGE_WEIGHTS } from '@failsmall/core';
import { evaluateTriageScenario, parseTriageScenario, TRIAGE_SCENARIO_ERROR_CODES } from '../src/index.ts';
import { root, yamlBlocks } from './helpers.ts';

/**
 * docs/triage.md: every ```yaml block parses as a triage scenario (and reaches the verdict its
 * `<!-- expect-verdict: CLASS TARGET -->` comment states), or fails with exactly the codes of
 * its `<!-- expect-error: CODE -->` comments; the weights table states the code's numbers.
 */
const markdown = readFileSync(new URL('docs/triage.md', root), 'utf8');

describe('docs/triage.md', () => {
  const blocks = yamlBlocks(markdown);

  it('has a scenario example with its verdict, and error examples', () => {
    assert.ok(blocks.some((b) => b.comments.some((c) => c.includes('expect-verdict'))));
    assert.ok(blocks.filter((b) => b.errors.length > 0).length >= 2);
  });

  for (const b of blocks) {
    it(`the yaml example at line ${b.line} ${b.errors.length > 0 ? `fails with ${b.errors.join(', ')}` : 'parses and reaches its verdict'}`, () => {
      const r = parseTriageScenario(b.text, { file: `docs/triage.md#L${b.line}` });
      if (b.errors.length > 0) {
        assert.equal(r.ok, false);
        if (r.ok) return;
        assert.deepEqual([...new Set(r.errors.map((e) => e.code))].sort(), [...new Set(b.errors)].sort(), r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
        for (const e of r.errors) assert.ok(e.line !== undefined && e.col !== undefined, `${e.code} has no position`);
        return;
      }
      assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
      const verdict = b.comments.map((c) => /^<!--\s*expect-verdict:\s*(\S+)(?:\s+(\S+))?\s*-->$/.exec(c)).find((m) => m !== null);
      assert.ok(verdict, 'a scenario example states its verdict');
      const run = evaluateTriageScenario(r.value);
      assert.equal(run.final.hypotheses[0]?.class, verdict[1]);
      assert.equal(run.final.hypotheses[0]?.target?.id, verdict[2]);
      assert.ok(run.correct);
    });
  }

  it('shows the error output the parser really prints', () => {
    const block = blocks.find((b) => b.text.startsWith('name: two-at-once'));
    assert.ok(block);
    const r = parseTriageScenario(block.text, { file: 'two-at-once.yaml' });
    assert.ok(!r.ok);
    const printed = r.errors.map((e) => formatError(e)).join('\n');
    assert.ok(markdown.includes(`\`\`\`\n${printed}\n\`\`\``), printed);
  });

  it('lists every error code the parser can return', () => {
    for (const code of TRIAGE_SCENARIO_ERROR_CODES.filter((c) => c !== 'INTERNAL_ERROR')) assert.ok(markdown.includes(`\`${code}\``), code);
  });

  it('states the weights the code uses', () => {
    const w = TRIAGE_WEIGHTS;
    const rows: [string, number[]][] = [
      ['TRAFFIC.surge', [w.TRAFFIC.surge.ddos, w.TRAFFIC.surge.from, w.TRAFFIC.surge.to]],
      ['TRAFFIC.noSurge', [w.TRAFFIC.noSurge.ddos, w.TRAFFIC.noSurge.below]],
      ['TRAFFIC.entropy', [w.TRAFFIC.entropy.ddos, w.TRAFFIC.entropy.from, w.TRAFFIC.entropy.to]],
      ['TRAFFIC.neverSeen', [w.TRAFFIC.neverSeen.ddos, w.TRAFFIC.neverSeen.from, w.TRAFFIC.neverSeen.to]],
      ['TRAFFIC.flashCrowd', [w.TRAFFIC.flashCrowd.ddos, w.TRAFFIC.flashCrowd.diversity.from, w.TRAFFIC.flashCrowd.diversity.to]],
      ['TRAFFIC.usualSources', [w.TRAFFIC.usualSources.ddos]],
      ['COHORT.concentrated', [w.COHORT.concentrated.change, w.COHORT.concentrated.from, w.COHORT.concentrated.to]],
      ['COHORT.even', [w.COHORT.even.change, w.COHORT.even.below]],
      ['COHORT.others', [w.COHORT.others.weight, w.COHORT.others.from, w.COHORT.others.to]],
      ['TIMING.near', [w.TIMING.near, w.TIMING.far]],
      ['TIMING.after', [w.TIMING.after]],
      ['TIMING.moduleMatch', [w.TIMING.moduleMatch]],
      ['TIMING.noChange', [w.TIMING.noChange]],
      ['TIMING.noErrors', [w.TIMING.noErrors]],
      ['FLAPPING.inStep', [w.FLAPPING.inStep.change]],
      ['FLAPPING.periodic', [w.FLAPPING.periodic.change, w.FLAPPING.periodic.ddos]],
      ['DEPENDENCY.degraded', [w.DEPENDENCY.degraded, w.DEPENDENCY.latency.from, w.DEPENDENCY.latency.to]],
      ['DEPENDENCY.usedByErroring', [w.DEPENDENCY.usedByErroring]],
      ['DEPENDENCY.before', [w.DEPENDENCY.before, w.DEPENDENCY.after]],
      ['DEPENDENCY.downstream', [w.DEPENDENCY.downstream]],
      ['DEPENDENCY.allHealthy', [w.DEPENDENCY.allHealthy]],
      ['DEPENDENCY.unmeasuredCaller', [w.DEPENDENCY.unmeasuredCaller]],
      ['VENDOR_STATUS.outage', [w.VENDOR_STATUS.outage, w.VENDOR_STATUS.minor]],
      ['VENDOR_STATUS.unreachable', [w.VENDOR_STATUS.unreachable]],
      ['VENDOR_STATUS.reportsButHealthy', [w.VENDOR_STATUS.reportsButHealthy]],
      ['VENDOR_STATUS.noneReported', [w.VENDOR_STATUS.noneReported]],
      ['MISSING_SIGNAL_LOG_ODDS', [w.MISSING_SIGNAL_LOG_ODDS]],
      ['UNKNOWN_LOG_ODDS', [w.UNKNOWN_LOG_ODDS]],
      ['CONFIDENCE_TEMPERATURE', [w.CONFIDENCE_TEMPERATURE]],
      ['TRAFFIC.noSurgeScale', [w.TRAFFIC.noSurgeScale]],
      ['TRAFFIC.drop', [w.TRAFFIC.drop.ddos, w.TRAFFIC.drop.below]],
      ['MIX.ddos', [w.MIX.ddos, w.MIX.expensiveShare.from, w.MIX.expensiveShare.to, w.MIX.pathEntropyDrop.from, w.MIX.pathEntropyDrop.to, w.MIX.methodEntropyDrop.from, w.MIX.methodEntropyDrop.to, w.MIX.costRatio.from, w.MIX.costRatio.to]],
      ['BYPASS.ddos', [w.BYPASS.ddos, w.BYPASS.cause]],
      ['LOAD.symptom', [w.LOAD.maxCancel]],
      ['TOUCHED.change', [w.TOUCHED.change, w.TOUCHED.dependency]],
      ['ENDED.persisted', [w.ENDED.persisted, w.ENDED.stopped]],
      ['COHORT.healthy', [w.COHORT.healthy.change]],
      ['DEPENDENCY.onlyUnseen', [w.DEPENDENCY.onlyUnseen]],
      ['PRIOR_LOG_ODDS', Object.values(w.PRIOR_LOG_ODDS)],
    ];
    for (const [key, numbers] of rows) {
      const row = markdown.split('\n').find((l) => l.startsWith(`| \`${key}\``));
      assert.ok(row, `no row for ${key}`);
      const stated = (row.replace(/−/g, '-').match(/[+-]?\d+(\.\d+)?/g) ?? []).map(Number);
      for (const n of numbers) assert.ok(stated.some((s) => Math.abs(Math.abs(s) - Math.abs(n)) < 1e-9), `${key}: ${n} is not in "${row}"`);
    }
  });
});
