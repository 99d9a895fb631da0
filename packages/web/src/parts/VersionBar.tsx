import type { VersionPart } from '../view/fleet.ts';

/**
 * A group's versions as one bar, each version its own colour and width, and the same in words
 * beside it (`v1 3 (75%)`): the words carry the meaning, the bar lets the eye compare groups.
 */
export function VersionBar({ parts, nodes }: { parts: readonly VersionPart[]; nodes: number }) {
  return (
    <div className="versions">
      <div className="version-bar" aria-hidden="true">
        {parts.map((p) => <span key={p.version} className={`ver ver-${p.colour}`} style={{ width: `${(100 * p.nodes) / Math.max(1, nodes)}%` }} />)}
      </div>
      <ul className="version-words">
        {parts.map((p) => <li key={p.version} data-version={p.version}><span className={`swatch ver-${p.colour}`} aria-hidden="true" /> {p.version === 'none' ? 'nothing' : p.version}: {p.nodes} ({p.share})</li>)}
      </ul>
    </div>
  );
}
