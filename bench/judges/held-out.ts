/**
 * Held-out streams for bench/judges.ts (`--held-out`): realistic shapes written before
 * failsmall's node-level statistics landed, so that they cannot have been tuned to. Report them
 * apart, and do not change them to suit a result: add new ones instead.
 *
 * Same model as streams.ts (per-node simulation, history, 10-second steps); what each adds:
 */
import type { StreamSpec } from './streams.ts';

export const HELD_OUT: readonly StreamSpec[] = [
  {
    key: 'drift',
    description: 'node error rates with CV 0.5 that drift between the history and the stage (log sd 0.3 per node; latency scale log sd 0.05): a node\'s past is a noisy guide to its present',
    canaryNodes: 5, errorSpread: { dist: 'gamma', cv: 0.5 }, drift: { errorLogSd: 0.3, latencyLogSd: 0.05 },
  },
  {
    key: 'heavy-tail-spread',
    description: 'heavier-tailed node heterogeneity: log-normal error multipliers with CV 1, and latency log sd 0.2',
    canaryNodes: 5, errorSpread: { dist: 'lognormal', cv: 1 }, latencyLogSd: 0.2,
  },
  {
    key: 'bursty-spread',
    description: 'bursts (one per node every ~6 h) and per-node error spread (CV 0.5) together',
    canaryNodes: 5, burstEveryHours: 6, errorSpread: { dist: 'gamma', cv: 0.5 },
  },
  {
    key: 'bursty-3h',
    description: 'frequent bursts: one 10 s burst of 20% errors per node every ~3 h',
    canaryNodes: 5, burstEveryHours: 3,
  },
  {
    key: 'silent-nodes',
    description: '5% of nodes (canary and baseline) silent for the whole stage, with their history present; per-node spread CV 0.5',
    canaryNodes: 5, silentShare: 0.05, errorSpread: { dist: 'gamma', cv: 0.5 },
  },
  {
    key: 'uneven-traffic',
    description: '10% of nodes serve 10× the rps; per-node spread CV 0.5 (a busy node dominates its arm)',
    canaryNodes: 5, heavyShare: 0.1, errorSpread: { dist: 'gamma', cv: 0.5 },
  },
  {
    key: 'node-spread-10',
    description: '10 canary nodes, per-node error CV 0.5, latency log sd 0.1, diurnal traffic, and a late pipeline: everything at once',
    canaryNodes: 10, errorSpread: { dist: 'gamma', cv: 0.5 }, latencyLogSd: 0.1, diurnal: true, delayed: true,
  },
];
