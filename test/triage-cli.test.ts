import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT, runCli } from './helpers/procs.ts';

/** `failsmall triage …` as a user runs it: a real process, from the repository root. */
const dir = mkdtempSync(join(tmpdir(), 'failsmall-triage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('failsmall triage', () => {
  it('replays the 18 November scenario and names the feature-file rollout (exit 0)', async () => {
    const r = await runCli(['triage', '--scenario', 'examples/triage/nov18-replay.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1\. change-regression +\d+%  stop pushing bot-management-feature-file and roll back rollout r-bm-1120 to ff-1115 /m);
    assert.match(r.stdout, /status page has not answered since 11:21:00: weak evidence alone/);
    assert.match(r.stdout, /^label change-regression \(r-bm-1120\): correct, and stayed correct from 0 s after the first alert$/m);
    assert.equal(r.stderr, '');
  });

  it('prints the verdict, the label and the ranked hypotheses as JSON with --json', async () => {
    const r = await runCli(['triage', '--scenario', 'examples/triage/ddos-botnet.yaml', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { ok: boolean; correct: boolean; label: { class: string }; seconds_to_correct: number; triage: { hypotheses: { class: string; confidence: number; evidence_for: unknown[]; first_action: string }[]; unexplained: number } };
    assert.equal(j.ok, true);
    assert.equal(j.correct, true);
    assert.equal(j.label.class, 'ddos');
    assert.equal(j.seconds_to_correct, 0);
    assert.equal(j.triage.hypotheses.length, 4);
    assert.equal(j.triage.hypotheses[0]?.class, 'ddos');
    assert.match(j.triage.hypotheses[0]?.first_action ?? '', /^turn on DDoS mitigation/);
  });

  it('exits 1 when the verdict does not match the scenario\'s label', async () => {
    const file = join(dir, 'mislabelled.yaml');
    writeFileSync(file, readFileSync(join(REPO_ROOT, 'examples/triage/canary-code-regression.yaml'), 'utf8').replace('label: { class: change-regression, target: r-api-7741 }', 'label: { class: ddos }'));
    const r = await runCli(['triage', '--scenario', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^label ddos: WRONG, the final top hypothesis is change-regression \(r-api-7741\)$/m);
  });

  it('refuses a bad scenario with file:line:col and a hint (exit 2)', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: bad\nlabel: { class: dos }\nduration: 10m\nfleet: { nodes: 10 }\nmodules: [proxy]\nevents:\n  - at: 1m\n    ddos: { rate: 5, source_entropy: 4, never_seen: 0.8 }\n');
    const r = await runCli(['triage', '--scenario', file]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${file}:2:17: class must be one of change-regression, ddos, internal-degradation, third-party-failure, benign, got "dos" [BAD_ENUM]\n  hint: did you mean "ddos"?\n`);
  });

  it('asks the control plane to triage an incident id, and says so when it cannot be reached (exit 3)', async () => {
    const r = await runCli(['triage', 'inc-42', '--server', 'http://127.0.0.1:1']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /cannot reach the control plane at http:\/\/127\.0\.0\.1:1.*\[UNREACHABLE\]/);
    const neither = await runCli(['triage']);
    assert.equal(neither.code, 2);
  });
});
