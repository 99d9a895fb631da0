/**
 * Strongly connected components (Tarjan) and a closed walk through one, over a graph of
 * dense indices. Iterative, so a dependency chain thousands long does not exhaust the stack.
 *
 * Examples
 *   const next = [[1], [2], [0], []];                  // 0 → 1 → 2 → 0, 3 alone
 *   stronglyConnected(4, (v) => next[v] ?? [])           // [[0, 1, 2], [3]]
 *   closedWalk([0, 1, 2], (v) => next[v] ?? [])          // [0, 1, 2, 0]
 */
export function stronglyConnected(n: number, next: (v: number) => readonly number[]): number[][] {
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  const visit = (v: number): void => {
    index[v] = counter;
    low[v] = counter;
    counter++;
    stack.push(v);
    onStack[v] = true;
  };
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    visit(root);
    const work: { v: number; i: number }[] = [{ v: root, i: 0 }];
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame === undefined) break;
      const { v } = frame;
      const successors = next(v);
      if (frame.i < successors.length) {
        const w = successors[frame.i++];
        if (w === undefined || w < 0 || w >= n) continue;
        if (index[w] === -1) {
          visit(w);
          work.push({ v: w, i: 0 });
        } else if (onStack[w]) {
          low[v] = Math.min(low[v] ?? 0, index[w] ?? 0);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low[parent.v] = Math.min(low[parent.v] ?? 0, low[v] ?? 0);
      if (low[v] !== index[v]) continue;
      const component: number[] = [];
      for (;;) {
        const w = stack.pop();
        if (w === undefined) break;
        onStack[w] = false;
        component.push(w);
        if (w === v) break;
      }
      components.push(component.sort((a, b) => a - b));
    }
  }
  return components.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
}

/** True when the component holds a cycle: more than one member, or one member with an edge to itself. */
export function isCyclic(component: readonly number[], next: (v: number) => readonly number[]): boolean {
  const only = component[0];
  if (component.length !== 1 || only === undefined) return component.length > 1;
  return next(only).includes(only);
}

/**
 * A closed walk that starts at the component's first member, visits every member and
 * returns: each step is an edge, first == last. When the component is one simple loop,
 * this is that loop; otherwise some members appear twice. Greedy (nearest unvisited
 * member next), so the walk stays short without the exponential search for a simple one.
 */
export function closedWalk(component: readonly number[], next: (v: number) => readonly number[]): number[] {
  const start = component[0];
  if (start === undefined) return [];
  const members = new Set(component);
  const walk = [start];
  const visited = new Set([start]);
  let current = start;
  while (visited.size < members.size) {
    const leg = shortestPath(current, (v) => !visited.has(v), members, next);
    if (leg === undefined) break; // not strongly connected: cannot happen for a Tarjan component
    for (const v of leg.slice(1)) {
      walk.push(v);
      visited.add(v);
    }
    current = leg[leg.length - 1] ?? current;
  }
  const home = shortestPath(current, (v) => v === start, members, next);
  if (home !== undefined) walk.push(...home.slice(1));
  return walk;
}

/**
 * Breadth-first from `from` to the nearest node (other than `from` itself, unless by a
 * self-loop) that satisfies `goal`, staying inside `within` when given.
 */
export function shortestPath(from: number, goal: (v: number) => boolean, within: ReadonlySet<number> | undefined, next: (v: number) => readonly number[]): number[] | undefined {
  const parent = new Map<number, number>();
  const queue = [from];
  const seen = new Set<number>();
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head];
    if (v === undefined) break;
    for (const w of next(v)) {
      if (within && !within.has(w)) continue;
      if (goal(w)) {
        const path = [w];
        for (let u: number | undefined = v; u !== undefined; u = u === from ? undefined : parent.get(u)) path.push(u);
        return path.reverse();
      }
      if (seen.has(w) || w === from) continue;
      seen.add(w);
      parent.set(w, v);
      queue.push(w);
    }
  }
  return undefined;
}
