import type { TriageClass } from './hypothesis.ts';

/**
 * The scoring model's numbers, in one place so that docs/triage.md can list them and a
 * reviewer can argue with each. Every weight is a log-likelihood ratio in nats: how much
 * more (or less) likely the observation is under the hypothesis than under the others.
 * ln 10 ≈ 2.3 is "ten times", ln 3 ≈ 1.1 "three times". Graded signals scale their weight
 * by a ramp: 0 at `from`, the full weight at `to`, linear between.
 */
export const PRIOR_LOG_ODDS: Readonly<Record<TriageClass, number>> = {
  // Most production incidents follow a change to the system (the Google SRE book puts it at
  // about 70%); attacks and vendor outages are rarer causes of a fleet's own errors.
  'change-regression': 0.5,
  'internal-degradation': 0,
  'third-party-failure': -0.3,
  ddos: -0.3,
};

/**
 * Confidences are softmax(log-odds / T). Fitted on the shipped labelled set only (examples/triage,
 * four seeds: the T with the lowest log loss of the labelled class, 0.7), never on the held-out
 * set, which is reported apart (docs/benchmarks.md, figure 6).
 */
export const CONFIDENCE_TEMPERATURE = 0.7;

/** Each missing signal family adds this to the log-odds of "none of the four". */
export const MISSING_SIGNAL_LOG_ODDS = 0.25;

/**
 * `unknown` ("none of the four has evidence enough") starts here, before missing signals are
 * added: a class must earn more than this beyond its prior to lead. Without it, the class
 * with the least evidence against it won by default (third-party-failure, when no vendor
 * signal was there to argue).
 */
export const UNKNOWN_LOG_ODDS = 0.75;

/** An error ratio is anomalous at 3× its baseline and 0.1 percentage points above it. */
export const ERROR_ANOMALY = { factor: 3, excess: 0.001 } as const;

/** Errors that stopped for this long end an episode: the next rise is a new first error. */
export const EPISODE_GAP_MS = 20 * 60_000;

/** Signals are read over this window before the first error, so a ramp that started early is seen. */
export const LEAD_WINDOW_MS = 10 * 60_000;
/**
 * Changes are read this far back. Timing stops counting after 30 minutes, but a rollout's
 * cohort still speaks after that: a leak that takes hours to show still errs only where the
 * version runs. Its cohort evidence decays instead (COHORT.halfLifeMs).
 */
export const CHANGE_LOOKBACK_MS = 24 * 3600_000;
/** Rates and shares are read as means over one minute. */
export const READING_WINDOW_MS = 60_000;

export const TRAFFIC = {
  /** Request rate / baseline: a volumetric attack raises it. */
  surge: { from: 1.5, to: 3, ddos: 1.5 },
  /** No surge: full weight below `below`, none from surge.from on (retries alone raise the rate a little). */
  noSurge: { below: 1.2, ddos: -2 },
  /** |entropy − baseline| in bits: attack traffic comes from a few prefixes (collapse) or from spoofed random ones. */
  entropy: { from: 0.5, to: 2, ddos: 3 },
  /** never-seen share − baseline: botnets and spoofed sources were never seen before. */
  neverSeen: { from: 0.1, to: 0.4, ddos: 2.5 },
  /**
   * A surge whose sources look like every day's is a flash crowd: strong evidence against an
   * attack. Only when the diversity signals stay below `diversity.from` in full, fading to none
   * at `diversity.to`: a moderate rise in odd sources is not "normal sources".
   */
  flashCrowd: { ddos: -4, diversity: { from: 0.1, to: 0.35 } },
  /** Odd sources without a surge count this much of their weight (an application-layer attack needs no volume). */
  noSurgeScale: 0.25,
  /** The request rate fell to this share of the expected rate or lower: traffic is not reaching us. */
  drop: { below: 0.6, ddos: -1.5 },
  /** Without a surge, sources that look like every day's still argue against an attack, a little. */
  usualSources: { ddos: -1 },
} as const;

/**
 * The request mix (RequestMixSignals): an application-layer attack asks for one expensive
 * thing, from one client library, far more than users do. Each signal is a ramp; the strongest
 * one counts in full and the next one half. Cost per request rises for any slow backend, so it
 * only adds to another moved signal, never alone.
 */
export const MIX = {
  expensiveShare: { from: 0.05, to: 0.3 },
  pathEntropyDrop: { from: 0.5, to: 2 },
  userAgentEntropyDrop: { from: 0.5, to: 2 },
  methodEntropyDrop: { from: 0.3, to: 0.8 },
  costRatio: { from: 1.5, to: 4 },
  ddos: 3,
} as const;

/**
 * A dependency in the request path (a CDN) failing sends clients straight to the origin: a
 * surge from prefixes the origin never sees. When it degraded before the surge (within
 * `slackMs` after its start at the latest), the surge is its doing, not an attack's.
 */
export const BYPASS = { ddos: -3.5, cause: 1.5, slackMs: 90_000 } as const;

/**
 * A dependency that began to degrade after hostile-looking traffic began (odd sources or mix;
 * a plain crowd does not count: shedding its load is the dependency's fix) is under that load:
 * its own evidence (degraded, called by the erroring module, early) stops discriminating, so it is
 * cancelled, up to `maxCancel`, in proportion to how hostile the traffic looks (0..1).
 */
export const LOAD = { maxCancel: 5, slackMs: 30_000 } as const;

/**
 * A change that touched a dependency (a migration on a database, a cache setting) which then
 * degraded: the change is the cause and the dependency its symptom. Counts when the dependency
 * began to degrade between `beforeMs` before the change and `withinMs` after it.
 */
export const TOUCHED = { change: 2.5, dependency: -2.5, beforeMs: 60_000, withinMs: 30 * 60_000 } as const;

/** What a rollout's recorded state says once it ended. */
export const ENDED = {
  /** Errors went on this long after it was rolled back or aborted: it was not the cause (or not the only one). */
  persistMs: 3 * 60_000,
  persisted: -2.5,
  /** Errors stopped within persistMs of its rollback: the rollback fixed it. */
  stopped: 1,
} as const;

/** A change recorded up to this long after the first error may have started before it (clock skew, late reports). */
export const SKEW_TOLERANCE_MS = 2 * 60_000;

export const COHORT = {
  /**
   * Concentration k: 0 when the excess errors fall on the rollout's nodes in proportion to their
   * traffic, 1 when they all do. A bad version errs where it runs; nothing else does.
   */
  concentrated: { from: 0.3, to: 0.8, change: 4 },
  /** k below this: errors spread evenly over nodes with and without the version. */
  even: { below: 0.15, change: -2.5 },
  /** Concentrated errors argue against causes that hit every node alike. */
  others: { from: 0.6, to: 0.9, weight: -1.5 },
  /**
   * Significance, in standard errors: concentration counts only when the version's error ratio
   * exceeds the others' by `z` (a two-proportion z-test), and "even" only when the fleet's excess
   * is itself that significant and a concentrated excess would have been seen.
   */
  z: 3,
  /** The version's nodes err at the fleet's baseline, and a bad version would have shown: a healthy rollout. */
  healthy: { change: -2 },
  /** Cohort evidence halves every this long after the first hour of a rollout's life. */
  halfLifeMs: 4 * 3600_000,
  fullWeightMs: 3600_000,
  /** Above this share of the requests on the version's nodes, there is too little left to compare with. */
  maxRequestShare: 0.95,
} as const;

export const TIMING = {
  /** A change shortly before the first error: full weight within `nearMs`, falling to `far` at `farMs`, 0 at `noneMs`. */
  near: 2, nearMs: 2 * 60_000,
  far: 0.5, farMs: 15 * 60_000,
  noneMs: 30 * 60_000,
  /** A change after the first error cannot have started it. */
  after: -1.5,
  /** The change touched a module (or service) whose errors rose. */
  moduleMatch: 0.7,
  /** No change at all in the lookback window. */
  noChange: -2,
  /** Error counts are measured and no module's errors rose: a change has nothing to explain. */
  noErrors: -1.5,
} as const;

export const FLAPPING = {
  /** Errors switching on or off within `withinMs` after pushes of one artifact, in at least `share` of `minTransitions`+ transitions. */
  inStep: { change: 2.5, withinMs: 90_000, share: 0.75, minTransitions: 2 },
  /** Errors that flap on a period of 2–15 min with no change in step: a periodic regeneration somewhere. */
  periodic: { change: 1.5, ddos: -1.5, minPeriodMs: 2 * 60_000, maxPeriodMs: 15 * 60_000, toleranceMs: 45_000, minOnsets: 3 },
  /** A state lasts at least this long before it counts (one noisy step is not a transition). */
  debounceSteps: 2,
} as const;

export const DEPENDENCY = {
  /** p99 latency / baseline, and error ratio: what "degraded" means. */
  latency: { from: 1.5, to: 4 },
  errors: { from: 0.01, to: 0.1 },
  /** A degraded dependency (ours for internal-degradation, a vendor's API for third-party-failure). */
  degraded: 3,
  /** It is called by a module whose errors rose. */
  usedByErroring: 1,
  /** It degraded before (or within a minute after) the first error… */
  before: 0.8, beforeSlackMs: 60_000,
  /** …or only later: a consequence, not the cause. */
  after: -1.5, afterMs: 3 * 60_000,
  /** Every dependency of the kind stayed within its baseline. */
  allHealthy: -2,
  /** It calls another dependency that began to degrade first: it is a symptom of that one. */
  downstream: -2,
  /** It is not measured, but a module whose errors rose calls it: a weak lead, and a target to name. */
  unmeasuredCaller: 0.5,
  /** …and every measured dependency of those modules is healthy: it is the one left. */
  onlyUnseen: 1.5,
} as const;

export const VENDOR_STATUS = {
  /** The status page reports a major or partial outage (indicator major/critical). */
  outage: 2,
  /** It reports a minor incident or degraded performance. */
  minor: 0.7,
  /** The status page itself does not answer: weak alone, status pages fail for their own reasons. */
  unreachable: 0.4,
  /** It reports an incident, but our calls to that vendor are healthy. */
  reportsButHealthy: -1,
  /** No vendor API is measured and no polled page reports anything: pages lag, so this says little. */
  noneReported: -0.5,
} as const;
