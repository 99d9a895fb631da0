/**
 * A small seeded PRNG (mulberry32) with normal deviates. The simulator never calls
 * Math.random or reads the clock: the same scenario and seed give the same run.
 *
 * Examples
 *   const rng = new Rng(42);
 *   rng.next();   // uniform in [0, 1)
 *   rng.normal(); // standard normal
 */
export class Rng {
  #state: number;
  #spare: number | null = null;

  constructor(seed: number, stream = 0) {
    // Mix the stream id in, so that independent streams from one seed do not overlap.
    this.#state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }

  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Marsaglia's polar method; one spare kept). */
  normal(): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return s;
    }
    for (;;) {
      const u = this.next() * 2 - 1;
      const v = this.next() * 2 - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const m = Math.sqrt((-2 * Math.log(s)) / s);
        this.#spare = v * m;
        return u * m;
      }
    }
  }

  /** A count with the given mean and variance: normal approximation, rounded, clamped to [0, max]. */
  count(mean: number, variance: number, max = Infinity): number {
    if (mean <= 0) return 0;
    const x = Math.round(mean + Math.sqrt(Math.max(0, variance)) * this.normal());
    return x < 0 ? 0 : x > max ? max : x;
  }

  /** Binomial(n, p), by normal approximation (exact enough for n·p in the tens and more; small n·p by Poisson inversion). */
  binomial(n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    const mean = n * p;
    if (mean < 20) {
      // Poisson inversion: small means are where the normal approximation is worst.
      const l = Math.exp(-mean);
      let k = 0;
      let prod = this.next();
      while (prod > l && k < n) { k++; prod *= this.next(); }
      return k;
    }
    return this.count(mean, mean * (1 - p), n);
  }
}
