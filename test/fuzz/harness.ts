/**
 * Runs one fuzz target with fast-check: N cases, each timed; a violated property shrinks
 * to its smallest counterexample, printed with the seed and path that replay it. The same
 * targets run from `npm run fuzz` (bench/fuzz.ts, ≥10,000 cases each) and from `npm test`
 * (test/fuzz.test.ts, a seeded slice).
 */
import fc from 'fast-check';

export interface FuzzTarget<T> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws (a FuzzFailure, or anything: a throw from the code under test is a failure too) when a property is broken. */
  check(input: T): void | Promise<void>;
  /** How a counterexample is printed (default: fast-check's own stringify). */
  show?(input: T): string;
  /** The input's size in bytes, for the time bound of large inputs (see RunOptions.msPerKiB). */
  size?(input: T): number;
  /** Inputs always tried first, every run (huge files, deep nesting, …). */
  readonly examples?: readonly T[];
  /** Runs before the first case (e.g. starts a server). */
  before?(): Promise<void>;
  /** Runs after the last case, also after a failure; a returned message fails the target (e.g. the server is down). */
  after?(): Promise<string | undefined>;
  /** Findings that are not failures (e.g. error codes missing from the documented list). */
  notes?(): string[];
}

/** A broken property, as opposed to an exception thrown by the code under test. */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

export function fail(message: string): never {
  throw new FuzzFailure(message);
}

export interface RunOptions {
  readonly runs: number;
  readonly seed?: number;
  /** Replays one failure (fast-check's path, printed with it). */
  readonly path?: string;
  /**
   * The time bound: a case slower than this, on the least of three timings, is listed as slow
   * (default 1000 ms); an input larger
   * than 100 KiB may take `msPerKiB` per KiB instead (default 10, i.e. 100 KiB/s), since the
   * parsers accept files up to 1 MiB and YAML alone reads about 400 KiB/s.
   */
  readonly slowMs?: number;
  readonly msPerKiB?: number;
}

export interface TargetReport {
  readonly name: string;
  readonly cases: number;
  readonly seed: number;
  readonly failed: boolean;
  /** The shrunk counterexample, the error, and how to replay it. */
  readonly failure?: string;
  readonly ms: number;
  readonly slowest: { readonly ms: number; readonly input: string };
  /** Cases over slowMs (each a failure of "no hang past a bound", reported rather than asserted in npm test). */
  readonly slow: readonly { readonly ms: number; readonly input: string }[];
  /** Cases over the bound at first but under it when run again: the machine stalled, not the input. */
  readonly stalls: number;
  readonly notes: readonly string[];
}

const MAX_SHOWN = 3000;

export function clip(text: string, max = MAX_SHOWN): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters in all)`;
}

export async function runTarget<T>(t: FuzzTarget<T>, o: RunOptions): Promise<TargetReport> {
  const seed = o.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const slowMs = o.slowMs ?? 1000;
  const msPerKiB = o.msPerKiB ?? 10;
  const bound = (v: T): number => Math.max(slowMs, ((t.size?.(v) ?? 0) / 1024) * msPerKiB);
  const show = (v: T): string => clip(t.show ? t.show(v) : fc.stringify(v), 400);
  const described = (v: T): string => (t.size ? `${(t.size(v) / 1024).toFixed(1)} KiB: ` : '') + show(v);
  let slowest = { ms: 0, input: '' };
  const slow: { ms: number; input: string }[] = [];
  const started = performance.now();
  let stalls = 0;
  const timed = async (input: T): Promise<number> => {
    const t0 = performance.now();
    await t.check(input);
    return performance.now() - t0;
  };
  const property = fc.asyncProperty(t.arbitrary, async (input) => {
    let ms = await timed(input);
    if (ms > bound(input)) {
      // Two cores are shared with the server under test (same process), its timers and the
      // garbage collector, so one slow timing says little. The input is slow only if it stays
      // over the bound when run again twice: the least of three timings is what it costs.
      let least = ms;
      for (let i = 0; i < 2 && least > bound(input); i++) least = Math.min(least, await timed(input));
      if (least <= bound(input)) stalls++;
      ms = least;
    }
    if (ms > slowest.ms) slowest = { ms, input: described(input) };
    if (ms > bound(input) && slow.length < 20) slow.push({ ms, input: described(input) });
  });
  await t.before?.();
  let details: fc.RunDetails<[T]>;
  let afterFailure: string | undefined;
  try {
    details = await fc.check(property, {
      numRuns: o.runs, seed, ...(o.path !== undefined ? { path: o.path } : {}),
      ...(t.examples ? { examples: t.examples.map((e) => [e] as [T]) } : {}),
    });
  } finally {
    afterFailure = await t.after?.();
  }
  const ms = performance.now() - started;
  let failure: string | undefined = afterFailure === undefined ? undefined : `${t.name}: after the run: ${afterFailure}`;
  if (details.failed) {
    const previous = failure;
    const ce = details.counterexample?.[0] as T | undefined;
    const err = details.errorInstance;
    failure = [
      `${t.name}: property failed after ${details.numRuns} case(s), ${details.numShrinks} shrink(s)`,
      `  error: ${err instanceof Error ? `${err.name}: ${err.message}${err instanceof FuzzFailure ? '' : `\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`}` : String(err)}`,
      `  counterexample (shrunk): ${ce === undefined ? '(none)' : clip(t.show ? t.show(ce) : fc.stringify(ce))}`,
      `  replay: FUZZ_ONLY=${t.name} FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} npm run fuzz`,
      ...(previous !== undefined ? [previous] : []),
    ].join('\n');
  }
  const notes = [...(t.notes?.() ?? []), ...(stalls > 0 ? [`${stalls} case(s) over the bound once but under it when run again (a stall of the shared machine, not of the input)`] : [])];
  return { name: t.name, cases: details.numRuns, seed, failed: details.failed || failure !== undefined, ...(failure ? { failure } : {}), ms, slowest, slow, stalls, notes };
}

export function formatReport(r: TargetReport): string {
  const size = /^([\d.]+ KiB):/.exec(r.slowest.input)?.[1];
  const head = `${r.name.padEnd(34)} ${String(r.cases).padStart(6)} cases  ${(r.ms / 1000).toFixed(1).padStart(6)} s  slowest ${r.slowest.ms.toFixed(1).padStart(7)} ms${size ? ` (${size})` : ''}  ${r.failed ? 'FAILED' : r.slow.length > 0 ? `${r.slow.length} SLOW` : 'ok'}`;
  const lines = [head];
  if (r.failure) lines.push(r.failure.replace(/^/gm, '    '));
  for (const s of r.slow.slice(0, 3)) lines.push(`    slow case: ${s.ms.toFixed(0)} ms: ${s.input}`);
  for (const n of r.notes) lines.push(`    note: ${n}`);
  return lines.join('\n');
}
