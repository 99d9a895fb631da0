/** How strong an event is at `t` (ms from the scenario start): 0 before it, rising to 1 over its ramp, 0 again from `until`. */
export function intensity(e: { readonly at_ms: number; readonly until_ms: number | null; readonly ramp_ms: number }, t: number): number {
  if (ended(e, t)) return 0;
  return rampIn(t - e.at_ms, e.ramp_ms);
}

export function rampIn(dt: number, ramp: number): number {
  if (dt < 0) return 0;
  return ramp > 0 ? Math.min(1, dt / ramp) : 1;
}

export function ended(e: { readonly until_ms: number | null }, t: number): boolean {
  return e.until_ms !== null && t >= e.until_ms;
}

export function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
