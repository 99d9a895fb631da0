/** Shannon entropy, in bits, of requests spread over outcomes (`counts`, summing to `total`). */
export function entropyBits(counts: Iterable<number>, total: number): number {
  let h = 0;
  for (const n of counts) {
    if (n <= 0) continue;
    const p = n / total;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * An interval's entropy as the agent pushes it: millibits times the interval's requests. Summed
 * over nodes and time and divided by the summed requests, it is the request-weighted mean
 * entropy; an integer, as the metrics API takes counters.
 */
export function entropyMillibitsTimesRequests(counts: Iterable<number>, total: number): number {
  return Math.round(entropyBits(counts, total) * 1000) * total;
}
