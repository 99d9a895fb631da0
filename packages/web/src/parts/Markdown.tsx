import { markdownBlocks, spans, type Block } from '../view/markdown.ts';

/**
 * Markdown as React elements (view/markdown.ts): text only, never HTML, so nothing in it can run
 * or become markup. Headings start at `level` so the document sits under the page's own title.
 */
export function Markdown({ text, level = 2 }: { text: string; level?: number }) {
  return <div className="markdown">{markdownBlocks(text).map((b, i) => <BlockView key={i} block={b} level={level} />)}</div>;
}

function BlockView({ block, level }: { block: Block; level: number }) {
  switch (block.type) {
    case 'heading': {
      const n = Math.min(6, level + block.level - 1);
      const H = `h${n}` as 'h2';
      return <H><Inline text={block.text} /></H>;
    }
    case 'paragraph':
      return <p><Inline text={block.text} /></p>;
    case 'list':
      return <ul>{block.items.map((t, i) => <li key={i}><Inline text={t} /></li>)}</ul>;
    case 'code':
      return <pre><code>{block.text}</code></pre>;
    case 'table':
      return (
        <table>
          {block.head.some((h) => h !== '') ? <thead><tr>{block.head.map((h, i) => <th key={i} scope="col"><Inline text={h} /></th>)}</tr></thead> : null}
          <tbody>{block.rows.map((r, i) => <tr key={i}>{r.map((c, j) => <td key={j}><Inline text={c} /></td>)}</tr>)}</tbody>
        </table>
      );
  }
}

function Inline({ text }: { text: string }) {
  return <>{spans(text).map((s, i) => (s.kind === 'code' ? <code key={i}>{s.text}</code> : s.kind === 'strong' ? <strong key={i}>{s.text}</strong> : s.kind === 'em' ? <em key={i}>{s.text}</em> : s.text))}</>;
}
