/**
 * Seeded randomness for the statistics tests: the same seed gives the same streams on every
 * machine, so a simulation's false-alarm rate is a fixed number, not a flaky one.
 */

/** mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG, uniform on [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw by Box–Muller. */
export function normalDraw(rng: () => number): number {
  const u = 1 - rng(); // (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * A Binomial(n, p) draw: exact inversion while the mean is small (where the skew matters),
 * the rounded normal approximation once n·p and n·(1 − p) both exceed 50 (where it does not).
 */
export function binomialDraw(rng: () => number, n: number, p: number): number {
  const mean = n * p;
  if (mean > 50 && n * (1 - p) > 50) {
    const x = Math.round(mean + Math.sqrt(mean * (1 - p)) * normalDraw(rng));
    return Math.min(n, Math.max(0, x));
  }
  // Inversion: walk the pmf, P(k+1) = P(k) · (n − k)/(k + 1) · p/(1 − p).
  const u = rng();
  let k = 0;
  let pk = Math.pow(1 - p, n);
  let cdf = pk;
  while (u > cdf && k < n) {
    pk *= ((n - k) / (k + 1)) * (p / (1 - p));
    k++;
    cdf += pk;
    if (pk < 1e-300 && k > mean) break;
  }
  return k;
}

/** One arm of a rollout: how many trials arrive per look and the true rate. */
export interface Arm {
  readonly trialsPerLook: number;
  readonly rate: number;
}

/** Cumulative {events, trials} of canary and baseline after each of `looks` intervals. */
export function* cumulativeLooks(rng: () => number, canary: Arm, baseline: Arm, looks: number) {
  const c = { events: 0, trials: 0 };
  const b = { events: 0, trials: 0 };
  for (let look = 1; look <= looks; look++) {
    c.events += binomialDraw(rng, canary.trialsPerLook, canary.rate);
    c.trials += canary.trialsPerLook;
    b.events += binomialDraw(rng, baseline.trialsPerLook, baseline.rate);
    b.trials += baseline.trialsPerLook;
    yield { look, canary: { ...c }, baseline: { ...b } };
  }
}

/** The binomial standard error of a rate estimated from `runs` runs. */
export function binomialSe(rate: number, runs: number): number {
  return Math.sqrt((rate * (1 - rate)) / runs);
}
