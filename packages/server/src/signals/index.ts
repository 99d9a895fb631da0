/** Signal sources for health gates beyond the builtin one: Prometheus (PromQL over HTTP). */
export {
  PrometheusClient, validateQuery,
  type PrometheusConfig, type PrometheusResult, type PrometheusValue, type PrometheusProblem, type PrometheusProblemCode,
  type PrometheusRange, type PrometheusRangeResult, type TransportProblemCode, type TemplateProblem, type QueryValidation,
  type Labels, type SeriesSample,
} from './prometheus.ts';
export { nodeHttpRequest, type HttpRequest, type HttpRequestOptions, type HttpResponse } from './http.ts';
