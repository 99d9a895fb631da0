/**
 * The names of the counters agents push for triage (per module, summed by the control plane):
 * one definition for both ends of the wire, so the agent and the server cannot drift apart.
 */

/** Source diversity (the agent's SourceTracker). */
export const SOURCE_COUNTERS = {
  /** Requests whose client prefix was recorded. */
  requests: 'source_requests',
  /** Of those, requests from prefixes this agent had never seen (only once warm). */
  neverSeen: 'source_never_seen',
  /** The push interval's entropy in millibits, times its requests: Σ over nodes and time / Σ requests = the mean entropy. */
  entropyWeighted: 'source_entropy_millibits_x_requests',
} as const;
export const SOURCE_PREFIX = 'source_';

/** The request mix (the agent's RequestMixTracker, `meter.mix()`). */
export const MIX_COUNTERS = {
  /** Requests whose mix was recorded. */
  requests: 'mix_requests',
  /** Each interval's entropy in millibits, times its requests (as the sources' entropy): over HTTP methods… */
  methodEntropyWeighted: 'mix_method_entropy_millibits_x_requests',
  /** …over path classes… */
  pathEntropyWeighted: 'mix_path_entropy_millibits_x_requests',
  /** …and over user-agent families. */
  userAgentEntropyWeighted: 'mix_user_agent_entropy_millibits_x_requests',
  /** Of the requests, those to an expensive path class. */
  expensive: 'mix_expensive',
  /** Their total server time, in ms. */
  costMs: 'mix_cost_ms',
} as const;
export const MIX_PREFIX = 'mix_';

/** What a pushed counter may be called (the control plane refuses a push with any other name). */
export const COUNTER_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** The largest count one push may carry for a counter (the control plane's bound). */
export const COUNT_MAX = 1e12;
