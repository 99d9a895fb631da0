/**
 * The Incidents pages' view logic: open incidents first, the newest triage from the timeline,
 * causes and weights in words, and the postmortem's Markdown read as text-only blocks (a string
 * with markup in it stays text).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Incident, IncidentEntry } from '../src/api/types.ts';
import { causeWords, latestTriage, sortIncidents, weightWords } from '../src/view/incidents.ts';
import { markdownBlocks, spans } from '../src/view/markdown.ts';

const incident = (id: string, o: Partial<Incident> = {}): Incident => ({ id, title: id, severity: 'sev3', status: 'open', opened_by: 'gate', opened_at: 0, resolved_at: null, rollout_id: null, ...o });
const entry = (seq: number, kind: IncidentEntry['kind'], data: Record<string, unknown> = {}): IncidentEntry => ({ seq, incident_id: 'i-1', at: seq * 1000, kind, text: kind, data });

test('incidents: open ones first, newest first in each; the newest triage comes from the timeline', () => {
  const list = [incident('old-open', { opened_at: 1 }), incident('resolved', { status: 'resolved', opened_at: 9 }), incident('new-open', { status: 'mitigated', opened_at: 5 })];
  assert.deepEqual(sortIncidents(list).map((i) => i.id), ['new-open', 'old-open', 'resolved']);
  const t1 = { summary: 'first', hypotheses: [] };
  const t2 = { summary: 'second', hypotheses: [{ class: 'change-regression' }] };
  assert.equal(latestTriage([entry(1, 'status')]), null);
  assert.deepEqual(latestTriage([entry(1, 'triage', { triage: t1 }), entry(2, 'triage', { triage: t2 }), entry(3, 'note'), entry(4, 'triage', { key: 'no result kept' })]), { at: 2000, triage: t2 });
  assert.equal(causeWords('change-regression'), 'a change that regressed');
  assert.equal(causeWords('something-new'), 'something-new');
  assert.deepEqual([weightWords(2.302), weightWords(-0.66)], ['+2.3', '−0.7']);
});

test("the postmortem's Markdown: headings, paragraphs, lists, tables with escaped pipes, code; markup stays text", () => {
  const md = [
    '# Postmortem: features v2', '', '| | |', '|---|---|', '| Incident | `i-1` |', '', '## Summary', '', 'A **bad** file', 'was pushed. <script>alert(1)</script>', '',
    '- first', '- second <b>', '', '| time | event |', '|---|---|', '| 10:00 | a \\| b |', '', '```', 'raw <i>', '```',
  ].join('\n');
  assert.deepEqual(markdownBlocks(md), [
    { type: 'heading', level: 1, text: 'Postmortem: features v2' },
    { type: 'table', head: ['', ''], rows: [['Incident', '`i-1`']] },
    { type: 'heading', level: 2, text: 'Summary' },
    { type: 'paragraph', text: 'A **bad** file was pushed. <script>alert(1)</script>' },
    { type: 'list', items: ['first', 'second <b>'] },
    { type: 'table', head: ['time', 'event'], rows: [['10:00', 'a | b']] },
    { type: 'code', text: 'raw <i>' },
  ]);
  assert.deepEqual(spans('the `v2` file **failed** <b> _to be written._ load_success_rate'), [
    { kind: 'text', text: 'the ' }, { kind: 'code', text: 'v2' }, { kind: 'text', text: ' file ' }, { kind: 'strong', text: 'failed' }, { kind: 'text', text: ' <b> ' },
    { kind: 'em', text: 'to be written.' }, { kind: 'text', text: ' load_success_rate' },
  ]);
});
