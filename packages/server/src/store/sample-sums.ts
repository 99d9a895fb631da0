/**
 * How a node's metric samples add up over a window, the same wherever they are summed (the
 * store's `metricsByNode` in SQL and JSON, the controller's in-memory `MetricsView`): latency
 * buckets position by position, however long each sample's list is, and named counters by name.
 */
export function addBuckets(acc: number[], add: readonly number[]): void {
  add.forEach((n, i) => { acc[i] = (acc[i] ?? 0) + n; });
}

export function addCounters(acc: Record<string, number>, add: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(add)) acc[key] = (acc[key] ?? 0) + n;
}
