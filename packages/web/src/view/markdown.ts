/**
 * The little Markdown the postmortem draft is written in (core renderPostmortem), read into
 * blocks that the page renders as React elements: headings, paragraphs, lists, tables, fenced
 * code, and inside them `code`, **bold** and _emphasis_. Never HTML: every character reaches the page as
 * text, so a string that came from an alert or a note cannot become markup. Anything else reads
 * as plain text, which is what it is.
 */
export type Block =
  | { readonly type: 'heading'; readonly level: 1 | 2 | 3; readonly text: string }
  | { readonly type: 'paragraph'; readonly text: string }
  | { readonly type: 'list'; readonly items: readonly string[] }
  | { readonly type: 'table'; readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] }
  | { readonly type: 'code'; readonly text: string };

/** A run of inline text: plain, `code`, **bold** or _emphasis_. */
export interface Span {
  readonly kind: 'text' | 'code' | 'strong' | 'em';
  readonly text: string;
}

/**
 * Examples
 *   markdownBlocks('## Summary\n\nA bad file.') // [{ type: 'heading', level: 2, text: 'Summary' }, { type: 'paragraph', text: 'A bad file.' }]
 */
export function markdownBlocks(md: string): Block[] {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length;) {
    const line = lines[i] ?? '';
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (line.trim() === '') { i++; continue; }
    if (heading) {
      blocks.push({ type: 'heading', level: Math.min(3, heading[1]?.length ?? 1) as 1 | 2 | 3, text: heading[2] ?? '' });
      i++;
    } else if (line.startsWith('```')) {
      const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
      const stop = end === -1 ? lines.length : end;
      blocks.push({ type: 'code', text: lines.slice(i + 1, stop).join('\n') });
      i = stop + 1;
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && (lines[i] ?? '').startsWith('|'); i++) rows.push(cells(lines[i] ?? ''));
      // The second line is the header's rule (`|---|---|`).
      const body = rows.slice(1).filter((r) => !r.every((c) => /^:?-{3,}:?$/.test(c)));
      blocks.push({ type: 'table', head: rows[0] ?? [], rows: body });
    } else if (/^\s*[-*]\s+/.test(line)) {
      const items: string[] = [];
      for (; i < lines.length && /^\s*[-*]\s+/.test(lines[i] ?? ''); i++) items.push((lines[i] ?? '').replace(/^\s*[-*]\s+/, ''));
      blocks.push({ type: 'list', items });
    } else {
      const para: string[] = [];
      for (; i < lines.length && (lines[i] ?? '').trim() !== '' && !/^(#|\||```|\s*[-*]\s)/.test(lines[i] ?? ''); i++) para.push((lines[i] ?? '').trim());
      blocks.push({ type: 'paragraph', text: para.join(' ') });
    }
  }
  return blocks;
}

/** A table line's cells: split on `|`, but not on an escaped `\|` (core's cell() escapes them). */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/(?<!\\)\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

/**
 * Examples
 *   spans('the `v2` file **failed**') // [text 'the ', code 'v2', text ' file ', strong 'failed']
 */
export function spans(text: string): Span[] {
  const out: Span[] = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|(?<!\w)_([^_]+)_(?!\w)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push({ kind: 'text', text: text.slice(last, m.index) });
    out.push(m[1] !== undefined ? { kind: 'code', text: m[1] } : m[2] !== undefined ? { kind: 'strong', text: m[2] } : { kind: 'em', text: m[3] ?? '' });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}
