import type { ArtifactInfo } from '../api/types.ts';

/** The artifact a page shows, chosen among those declared (the Fleet and Artifacts pages). */
export function ArtifactSelect({ id, value, artifacts, onChange }: { id: string; value: string; artifacts: readonly ArtifactInfo[]; onChange: (name: string) => void }) {
  return (
    <>
      <label htmlFor={id}>Artifact</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {artifacts.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
      </select>
    </>
  );
}
