/** Signal sources for health gates beyond the builtin one: Prometheus (PromQL over HTTP). */
export {
  PrometheusClient, validateQuery,
  type PrometheusConfig, type PrometheusResult, type PrometheusValue, type PrometheusProblem, type PrometheusProblemCode,
  type PrometheusRange, type PrometheusRangeResult, type TransportProblemCode, type TemplateProblem, type QueryValidation,
  type Labels, type SeriesSample,
} from './prometheus.ts';
export {
  checkTemplate, renderQuery, nodeMatcher, escapeRegex, promqlString, promDuration,
  PLACEHOLDERS, DEFAULT_NODE_LABEL, DEFAULT_MAX_SELECTOR_BYTES,
  type PlaceholderName, type QueryVars, type RenderResult, type RenderError, type RenderErrorCode, type TemplateCheck, type TemplateError, type TemplateErrorCode,
} from './template.ts';
export { nodeHttpRequest, type HttpRequest, type HttpRequestOptions, type HttpResponse } from './http.ts';
