/**
 * The traffic model's fixed numbers. They are not scenario keys because no scenario needs
 * another value; docs/triage.md lists them.
 */
export const TRIAGE_MODEL = {
  /** Clients retry failed requests: the request rate grows by this × the error ratio (events without `retries:`). */
  retry: 0.5,
  /** Per-step noise: relative sd of each module's background error ratio, of a dependency's latency and errors, of the never-seen share; sd of entropy in bits. */
  error_noise: 0.15,
  latency_noise: 0.04,
  dependency_error_noise: 0.2,
  never_seen_noise: 0.08,
  entropy_noise_bits: 0.05,
  /** Per-step noise of the request mix: sd of its entropies in bits; relative sd of the expensive share and of the cost per request. */
  mix_noise: { entropy_bits: 0.03, expensive_share: 0.05, cost: 0.04 },
  /** Status pages are polled once a minute. */
  status_poll_ms: 60_000,
  /** Alert rules (Alertmanager style, each `for: 1m`). */
  alerts: {
    for_ms: 60_000,
    error_factor: 5, error_excess: 0.002,
    surge_factor: 2,
    /** TrafficDrop: the rate at or below this × the expected rate. */
    drop_factor: 0.6,
    latency_factor: 3, dependency_errors: 0.05,
  },
} as const;
