/**
 * PromQL templates in gates: `{{name}}` placeholders that the controller fills per stage.
 * Checked when a policy is parsed, so an unknown placeholder is a policy error with a line
 * and a column, not a surprise at the first evaluation.
 */
export const QUERY_PLACEHOLDERS = ['cohort_selector', 'baseline_selector', 'window', 'interval'] as const;
export type QueryPlaceholder = (typeof QUERY_PLACEHOLDERS)[number];

export interface TemplateProblem {
  readonly code: 'UNKNOWN_PLACEHOLDER' | 'BAD_QUERY';
  readonly message: string;
  readonly hint: string;
}

export function checkQueryTemplate(template: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  if (template.trim() === '') problems.push({ code: 'BAD_QUERY', message: 'the query is empty', hint: 'write a PromQL expression' });
  for (const m of template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    const name = m[1] ?? '';
    if (!(QUERY_PLACEHOLDERS as readonly string[]).includes(name)) {
      problems.push({ code: 'UNKNOWN_PLACEHOLDER', message: `unknown placeholder {{${name}}} in the query`, hint: `placeholders: ${QUERY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}` });
    }
  }
  if (!template.includes('{{cohort_selector}}') && !template.includes('{{ cohort_selector }}')) {
    problems.push({ code: 'BAD_QUERY', message: 'the query never uses {{cohort_selector}}, so it cannot tell the cohort from the rest of the fleet', hint: 'add {{cohort_selector}} inside the label matchers, e.g. failsmall_agent_errors_total{ {{cohort_selector}} }' });
  }
  return problems;
}

/** Fills the placeholders; the caller has checked the template. */
export function renderQueryTemplate(template: string, values: Readonly<Record<QueryPlaceholder, string>>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_all, name: string) => values[name as QueryPlaceholder] ?? '');
}
