/** One of a page's filters: a labelled select whose choice lives in the address (the Rollouts and Audit pages). */
export function FilterSelect({ id, label, value, choices, onChange }: { id: string; label: string; value: string; choices: readonly { readonly value: string; readonly label: string }[]; onChange: (value: string) => void }) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {choices.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
      </select>
    </>
  );
}
