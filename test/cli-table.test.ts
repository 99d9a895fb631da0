/**
 * One table style for every command: boxes on a terminal, plain aligned columns anywhere else
 * (a pipe, a file, NO_COLOR), with one record a line (packages/cli/src/table.ts, docs/cli.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxes, renderTable } from '../packages/cli/src/table.ts';
import { call, testServer } from '../packages/server/test/fixtures.ts';
import { runCli } from './helpers/procs.ts';

const BOX = /[┌│└─┼]/;

test('plain columns off a terminal: aligned, no border, a multi-line cell kept on its record', () => {
  const text = renderTable(['node', 'serving', 'seen'], [['n1', 'a@v1\nb@v2', '3s ago'], ['node-22', 'a@v1', '1s ago']], { box: false });
  assert.equal(text, 'node     serving     seen\nn1       a@v1; b@v2  3s ago\nnode-22  a@v1        1s ago');
  assert.equal(renderTable(['n', 'count'], [['a', '5'], ['b', '120']], { box: false, align: ['left', 'right'] }), 'n  count\na      5\nb    120');
});

test('a box on a terminal, and none with NO_COLOR', (t) => {
  const text = renderTable(['node', 'serving'], [['n1', 'a@v1']], { box: true, indent: '  ' });
  assert.match(text, BOX);
  assert.ok(text.split('\n').every((l) => l.startsWith('  ')), 'every line indented');
  const tty = process.stdout.isTTY;
  const noColor = process.env.NO_COLOR;
  t.after(() => { process.stdout.isTTY = tty; if (noColor === undefined) delete process.env.NO_COLOR; else process.env.NO_COLOR = noColor; });
  process.stdout.isTTY = true;
  delete process.env.NO_COLOR;
  assert.equal(boxes(), true);
  process.env.NO_COLOR = '1';
  assert.equal(boxes(), false);
});

test('token list, incident list, nodes and artifact list through a pipe: the same plain table, no box', { timeout: 60_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  await call(s.url, 'POST', '/v1/incidents', { token: s.admin, json: { title: 'checkout slow' } });
  for (const args of [['token', 'list'], ['incident', 'list'], ['nodes'], ['artifact', 'list']]) {
    const r = await runCli([...args, '--server', s.url, '--token', s.admin], { env: { NO_COLOR: undefined } });
    assert.equal(r.code, 0, r.child.describe());
    assert.doesNotMatch(r.stdout, BOX, args.join(' '));
    assert.doesNotMatch(r.stdout, /^-{3,}/m, `${args.join(' ')}: no dashed rule`);
  }
  const tokens = (await runCli(['token', 'list', '--server', s.url, '--token', s.admin])).stdout.split('\n');
  assert.match(tokens[0] ?? '', /^name +role +id +created +state$/);
  assert.match(tokens[1] ?? '', /^admin +admin +\S+ +\S+ by \(first start\) +live$/);
});
