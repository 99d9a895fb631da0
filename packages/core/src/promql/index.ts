/** PromQL query templates: checked by the policy parser, filled by the control plane for each stage. */
export * from './template.ts';
