import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../packages/cli/src/main.ts';
import { EXIT } from '../packages/cli/src/exit-codes.ts';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** Every `npx failsmall …` or (installed) `failsmall …` line inside a ```sh block of a doc. */
function documentedCommands(path: string): string[] {
  const lines: string[] = [];
  for (const block of read(path).matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const m = /^\s*(?:npx )?failsmall (.+?)(\s+#.*)?$/.exec(line);
      if (m?.[1]) lines.push(m[1].replace(/\\$/, '').trim());
    }
  }
  return lines;
}

/** Resolves `rollout start ARTIFACT …` to the command it names, and checks each --flag exists on it. */
function resolve(line: string): { command: Command; unknownFlags: string[] } | undefined {
  let command: Command = buildProgram({ code: 0 });
  const words = line.split(/\s+/);
  for (const w of words) {
    const sub = command.commands.find((c) => c.name() === w);
    if (!sub) break;
    command = sub;
  }
  if (command.name() === 'failsmall') return undefined;
  const known = new Set(command.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
  const unknownFlags = words.filter((w) => w.startsWith('--')).map((w) => w.split('=')[0] ?? w).filter((f) => !known.has(f));
  return { command, unknownFlags };
}

function cli(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['packages/cli/bin/failsmall.js', ...args], { cwd: new URL('.', root), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the docs show commands that exist', () => {
  for (const doc of ['README.md', 'docs/cli.md', 'docs/operations.md', 'docs/agent.md', 'docs/breakglass.md', 'docs/incidents.md', 'docs/security.md', 'docs/dashboard.md']) {
    it(`every failsmall command in ${doc} is a real command with real flags`, () => {
      const commands = documentedCommands(doc);
      assert.ok(commands.length > 0, `${doc} shows no commands`);
      for (const line of commands) {
        if (/^(--version|-V|--help)\b/.test(line)) continue; // the program's own flags, no command
        const found = resolve(line);
        assert.ok(found, `"failsmall ${line}" in ${doc} names no command`);
        assert.deepEqual(found.unknownFlags, [], `"failsmall ${line}" in ${doc} uses unknown flags`);
      }
    });
  }

  it('the policy validate examples in docs/cli.md exit as their comments say', () => {
    const ok = cli(['policy', 'validate', 'examples/failsmall.yaml']);
    assert.equal(ok.code, 0, ok.out);
    const seed = cli(['policy', 'validate', 'examples/seed-policy.yaml']);
    assert.equal(seed.code, 1);
    assert.match(seed.out, /examples\/seed-policy\.yaml:\d+:\d+: .*\[ALIAS_UNDEFINED\]/);
  });

  it('every command in docs/reliability.md runs something that exists: test files, and npm scripts', () => {
    const text = read('docs/reliability.md');
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const commands = [...text.matchAll(/`((?:node --import tsx --test|npm run) [^`]+)`/g)].map((m) => m[1] ?? '');
    assert.ok(commands.length >= 8, `only ${commands.length} commands in docs/reliability.md`);
    for (const c of commands) {
      if (c.startsWith('npm run ')) { assert.ok(scripts[c.split(' ')[2] ?? ''], `${c}: no such script`); continue; }
      const files = c.split(' ').filter((w) => w.endsWith('.test.ts'));
      assert.ok(files.length > 0, `${c}: names no test file`);
      for (const f of files) assert.doesNotThrow(() => read(f), `${c}: ${f} does not exist`);
    }
  });

  it('the exit codes table in docs/cli.md matches the code', () => {
    const table = read('docs/cli.md');
    for (const code of Object.values(EXIT)) assert.match(table, new RegExp(`\\n\\| ${code} \\|`), `exit code ${code} is not documented`);
  });
});
