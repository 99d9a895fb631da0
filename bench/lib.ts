/**
 * Shared helpers for the benchmarks in bench/: percentiles, argument parsing, the machine
 * description, and the declarations both benchmarks use.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseDeclarations, type Declarations } from '@failsmall/core';

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles (p99 of 200 samples is the 198th smallest). Values in ms. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { n: 0, min: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => percentile(s, q);
  return {
    n: s.length, min: s[0] ?? NaN, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** The nearest-rank q-quantile of samples sorted ascending (NaN when there are none). */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

export function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v < 1) return v.toFixed(3);
  if (v < 100) return v.toFixed(2);
  return v.toFixed(1);
}

/** `--name value` / `--flag` parsing; enough for a benchmark. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? '' : v;
}

export function argInt(name: string, dflt: number): number {
  const v = argValue(name);
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} wants a positive integer, got ${v}`);
  return n;
}

export function hasFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

function loadavg1m(): number | null {
  try { return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]); } catch { return null; }
}

/** Read when the benchmark starts: other work sharing the CPUs shows up here. */
const LOAD_AT_START = loadavg1m();

export interface MachineInfo {
  readonly cpu_model: string;
  readonly cpus: number;
  readonly mem_gib: number;
  readonly node: string;
  readonly platform: string;
  readonly loadavg_1m_at_start: number | null;
  readonly loadavg_1m_at_end: number | null;
}

export function machine(): MachineInfo {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) model = m[1].trim();
  } catch { /* not Linux */ }
  return {
    cpu_model: model, cpus: cpus().length, mem_gib: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    node: process.version, platform: `${process.platform}-${process.arch}`, loadavg_1m_at_start: LOAD_AT_START, loadavg_1m_at_end: loadavg1m(),
  };
}

/**
 * The benchmark's declarations: one artifact, and the 3-stage policy (1% → 10% →
 * 100%, two gates: the artifact's own load success rate and the proxy's error rate).
 * The `propagation*` policies (100% at once) let bench/propagation.ts change every node at once.
 */
export const DECLARATIONS_YAML = `
modules:
  bot-management:
    on_load_failure: serve-stale
  proxy:
    on_load_failure: serve-stale

artifacts:
  bot-management-feature-file:
    kind: feature-file
    module: bot-management
    policy: three-stage
    validation:
      max_bytes: 1048576

policies:
  three-stage:
    interval: 10s
    bake: 60s
    load_timeout: 30s
    max_extension: 2m
    on_inconclusive: pause
    stages:
      - name: canary
        scope: 1% nodes
        health_gates: &gates
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 60s }
          - { module: proxy, metric: error_rate, threshold: 0.001, window: 60s }
        rollback_on_failure: true
      - name: partial
        scope: 10% nodes
        health_gates: *gates
        rollback_on_failure: true
      - name: global
        scope: 100% nodes
        health_gates: *gates
        rollback_on_failure: true

  free-tier-first:
    interval: 10s
    bake: 60s
    stages:
      - name: free-canary
        scope: 1% nodes where customer_tier=free
        health_gates: *gates
      - name: global
        scope: 100% nodes
        health_gates: *gates

  # bench/propagation.ts: every node at once. The seed rollout completes within seconds (it
  # sets the artifact's current version); the measured one bakes long enough to be aborted.
  propagation-seed:
    interval: 1s
    bake: 1s
    load_timeout: 10s
    stages:
      - name: everyone
        scope: 100% nodes
        health_gates: &load_gate
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 60s }
  propagation:
    interval: 1s
    bake: 10m
    max_extension: 10m
    load_timeout: 10s
    stages:
      - name: everyone
        scope: 100% nodes
        health_gates: *load_gate
`;

export function declarations(): Declarations {
  const parsed = parseDeclarations(DECLARATIONS_YAML, { file: 'bench/lib.ts' });
  if (!parsed.ok) throw new Error(`bench declarations do not parse: ${JSON.stringify(parsed.errors, null, 2)}`);
  return parsed.value;
}

export const REGIONS = ['us-east', 'us-west', 'eu-west', 'eu-central', 'ap-south', 'ap-northeast', 'sa-east', 'af-south'] as const;
export const TIERS = ['free', 'free', 'free', 'pro', 'pro', 'business', 'enterprise'] as const;

/** A deterministic fleet: node-00000 … with region and customer_tier labels. */
export function fleetLabels(i: number): Record<string, string> {
  return { region: REGIONS[i % REGIONS.length] ?? 'us-east', customer_tier: TIERS[(i * 7919) % TIERS.length] ?? 'free' };
}

export function nodeId(i: number): string {
  return `node-${String(i).padStart(5, '0')}`;
}
