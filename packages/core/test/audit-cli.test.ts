import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** `failsmall audit deps …` as a user runs it, from the repository root. */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'failsmall-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function audit(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['packages/cli/bin/failsmall.js', 'audit', 'deps', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('failsmall audit deps', () => {
  it('exits 1 on the 18 November estate and prints the cycle, the violations and the verdict', () => {
    const r = audit('examples/estate.yaml');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^examples\/estate\.yaml: 8 services, 4 break-glass tools, 4 modules, 10 dependencies$/m);
    assert.match(r.stdout, /^ {2}proxy → config-pipeline → dashboard-login → bot-check → proxy {2}includes a soft edge with a fallback$/m);
    assert.match(r.stdout, /^ {2}admin-console +proxy +admin-console → dashboard-login → bot-check → proxy$/m);
    assert.match(r.stdout, /^ {2}status-page +proxy +dns=dns-main +the tool itself$/m);
    assert.match(r.stdout, /^ {2}control-plane +metrics +examples\/estate\.yaml:36:9$/m);
    assert.match(r.stdout, /^15 findings: the estate fails the audit \(exit 1\)$/m);
  });

  it('exits 0 on the clean example', () => {
    const r = audit('examples/estate-clean.yaml');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /clean: no findings \(exit 0\)/);
  });

  it('prints the report as JSON with --json', () => {
    const r = audit('examples/estate.yaml', '--json');
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.ok, true);
    assert.deepEqual(j.cycles, [['proxy', 'config-pipeline', 'dashboard-login', 'bot-check', 'proxy']]);
    const violations = j.breakglass_violations as { tool: string; recovers: string; path: string[] }[];
    assert.deepEqual(violations[0], { tool: 'admin-console', recovers: 'proxy', path: ['admin-console', 'dashboard-login', 'bot-check', 'proxy'], assumed_hard: [] });
    const shared = j.shared_fate as { tool: string; service: string; label: string }[];
    assert.ok(shared.some((s) => s.tool === 'status-page' && s.service === 'proxy' && s.label === 'dns=dns-main'));
    const review = j.fail_closed_review as { module: string; flagged: boolean; reason: string | null }[];
    assert.deepEqual(review.map((m) => [m.module, m.flagged]), [['waf-rules', false], ['feature-flags', true], ['geo-routing', true]]);
    assert.deepEqual(j.missing_fallbacks, [{ service: 'control-plane', on: 'metrics', line: 36, col: 9 }]);
    assert.equal(j.findings, 15);
    assert.equal(j.clean, false);
    assert.equal(r.stderr, '');
  });

  it('prints a Mermaid diagram with the offending edges highlighted', () => {
    const r = audit('examples/estate.yaml', '--format', 'mermaid');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^flowchart LR\n/);
    assert.match(r.stdout, /\n {2}linkStyle [\d,]+ stroke:#d62728,stroke-width:3px\n/);
    assert.match(r.stdout, /\n {2}n1 --> n0\n/, 'bot-check → proxy');
    const red = /linkStyle ([\d,]+) stroke:#d62728/.exec(r.stdout)?.[1]?.split(',') ?? [];
    const edgeLines = r.stdout.split('\n').filter((l) => /^\s+n\d+ (-->|-\.->|==>)/.test(l));
    assert.ok(red.includes(String(edgeLines.findIndex((l) => l.trim() === 'n1 --> n0'))), 'bot-check → proxy is not red');
    assert.match(r.stderr, /15 findings/);
  });

  it('prints a Graphviz diagram with --format dot, and JSON carries the diagram with --json', () => {
    const r = audit('examples/estate.yaml', '--format', 'dot');
    assert.match(r.stdout, /"bot-check" -> "proxy" \[color="#d62728", fontcolor="#d62728", penwidth=3\];/);
    const j = JSON.parse(audit('examples/estate.yaml', '--format', 'dot', '--json').stdout) as { format: string; diagram: string };
    assert.equal(j.format, 'dot');
    assert.match(j.diagram, /^digraph estate/);
  });

  it('exits 2 with file:line:col, the code and a hint on a bad graph file', () => {
    const bad = file('bad.yaml', 'services:\n  login:\n    depends_on: [ { on: bot-chek, hard: true } ]\n  bot-check:\n    depnds_on: []\n');
    const r = audit(bad);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`${bad}:3:25: "login" depends on "bot-chek", which is not declared [UNKNOWN_SERVICE]\n  hint: did you mean "bot-check"?`), r.stderr);
    assert.ok(r.stderr.includes(`${bad}:5:5: unknown key "depnds_on" in service "bot-check" [UNKNOWN_KEY]\n  hint: did you mean "depends_on"?`), r.stderr);
  });

  it('exits 2 on bad input with --json, every error with its position', () => {
    const bad = file('bad-type.yaml', 'services:\n  a: { depends_on: [ { on: b, hard: yes } ] }\n  b: {}\n');
    const r = audit(bad, '--json');
    assert.equal(r.code, 2);
    const j = JSON.parse(r.stdout) as { ok: boolean; errors: { code: string; line: number; col: number; file: string }[] };
    assert.equal(j.ok, false);
    assert.deepEqual(j.errors.map((e) => [e.code, e.file, e.line, e.col]), [['WRONG_TYPE', bad, 2, 37]]);
  });

  it('exits 2 on an alias bomb, a missing file and an unknown format', () => {
    const lines = ['services:', '  a: &a { fate: { dns: x } }'];
    let prev = 'a';
    for (const name of ['b', 'c', 'd', 'e', 'f']) {
      lines.push(`  ${name}: &${name} [${Array.from({ length: 10 }, () => `*${prev}`).join(', ')}]`);
      prev = name;
    }
    const bomb = audit(file('bomb.yaml', `${lines.join('\n')}\n`));
    assert.equal(bomb.code, 2);
    assert.match(bomb.stderr, /bomb\.yaml:\d+:\d+: .*\[ALIAS_BOMB\]/);
    const missing = audit('no/such/estate.yaml');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^no\/such\/estate\.yaml: cannot read no\/such\/estate\.yaml: ENOENT \[FILE_UNREADABLE\]/);
    assert.equal(audit('examples/estate.yaml', '--format', 'svg').code, 2);
  });

  it('reviews the modules of a --with declarations file, and exits 2 when that file is bad', () => {
    const graph = file('graph.yaml', 'services:\n  proxy: {}\n');
    const r = audit(graph, '--with', 'examples/failsmall.yaml', '--json');
    assert.equal(r.code, 0, r.stdout);
    const j = JSON.parse(r.stdout) as { fail_closed_review: { module: string; verdict: string }[] };
    assert.deepEqual(j.fail_closed_review.map((m) => [m.module, m.verdict]), [['proxy', 'protects-security-goal']]);
    const badWith = audit(graph, '--with', 'examples/seed-policy.yaml');
    assert.equal(badWith.code, 2);
    assert.match(badWith.stderr, /examples\/seed-policy\.yaml:\d+:\d+: .*\[ALIAS_UNDEFINED\]/);
    const twice = audit('examples/estate-clean.yaml', '--with', 'examples/failsmall.yaml');
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /examples\/estate-clean\.yaml:\d+:\d+: module "bot-management" is also declared in the --with declarations \[DUPLICATE_NAME\]/);
  });
});
