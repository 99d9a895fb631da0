/** The four causes triage tells apart. */
export const TRIAGE_CLASSES = ['change-regression', 'ddos', 'internal-degradation', 'third-party-failure'] as const;
export type TriageClass = (typeof TRIAGE_CLASSES)[number];
/**
 * What the top of the ranking can be: one of the four causes, or `unknown` when no class has
 * evidence enough to lead (the missing signals it would need are named). A benign event, or one
 * whose cause is none of the four, should read `unknown`, never a default winner.
 */
export type TriageVerdict = TriageClass | 'unknown';

/** Signal families; each evidence item and each missing signal names one. */
export const TRIAGE_SIGNALS = [
  'request_rate', 'source_entropy', 'never_seen_sources', 'errors_by_module', 'errors_by_cohort',
  'change_timing', 'flapping', 'dependencies', 'vendor_apis', 'vendor_status', 'changes', 'alerts', 'request_mix',
] as const;
export type TriageSignal = (typeof TRIAGE_SIGNALS)[number];

/**
 * One piece of evidence: what was measured, against what, and how much it moves the
 * hypothesis. `weight` is a log-likelihood ratio in nats: +2.3 makes the hypothesis ten
 * times more likely than before, −2.3 ten times less.
 */
export interface Evidence {
  readonly signal: TriageSignal;
  readonly weight: number;
  readonly value: number | null;
  /** What the value is compared with: the signal's baseline, or the threshold of the rule. */
  readonly baseline?: number;
  readonly threshold?: number;
  readonly unit?: string;
  readonly sentence: string;
}

export interface MissingSignal {
  readonly signal: TriageSignal;
  readonly sentence: string;
}

/** What the first action acts on. */
export type TriageTarget =
  | { readonly kind: 'rollout'; readonly id: string; readonly artifact: string; readonly version: string }
  | { readonly kind: 'change'; readonly id: string; readonly summary: string }
  | { readonly kind: 'artifact'; readonly id: string }
  | { readonly kind: 'dependency'; readonly id: string }
  | { readonly kind: 'vendor'; readonly id: string }
  | { readonly kind: 'traffic'; readonly id: string };

export interface Hypothesis {
  readonly class: TriageVerdict;
  /** Probability-like, 0..1; the five (four causes and `unknown`) sum to 1. */
  readonly confidence: number;
  /** Prior plus the sum of evidence weights (nats). */
  readonly log_odds: number;
  readonly evidence_for: readonly Evidence[];
  readonly evidence_against: readonly Evidence[];
  readonly missing_signals: readonly MissingSignal[];
  /** A concrete first step, naming the rollout, dependency or vendor and the numbers behind it. */
  readonly first_action: string;
  readonly target?: TriageTarget;
}

export interface Triage {
  readonly now_ms: number;
  /** The earliest alert, or null when none had fired by now. */
  readonly first_alert_ms: number | null;
  /** The first step at which errors rose above their baseline, or null. */
  readonly first_error_ms: number | null;
  /** Ranked, most likely first. */
  readonly hypotheses: readonly Hypothesis[];
  /** The confidence of `unknown`: "none of the four has evidence enough", grown by every missing signal. */
  readonly unexplained: number;
  readonly summary: string;
}
