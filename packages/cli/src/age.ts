/**
 * `12s`, `3m`, `2h`, `4d`: how long ago, for people reading a list or a live view, not for
 * arithmetic (the JSON keeps the epoch milliseconds).
 */
export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
