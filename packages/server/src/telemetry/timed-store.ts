/** The parts of the Store that are stores of their own: their calls are timed as `incidents.list` and so on. */
const PARTS = new Set(['incidents', 'approvals', 'credentials', 'outbox', 'leases']);
/** Methods that do no IO: timing them would only add series. */
const NOT_TIMED = new Set(['onCommit', 'onChange', 'listen']);

/**
 * The store with every call timed: `observe(op, seconds)` after each method's promise settles
 * (failed calls too; a slow failure is latency all the same). The methods run on the store
 * itself, so its private fields work; the parts (incidents, approvals, …) are timed the same way.
 *
 * Examples
 * ```ts
 * const store = timedStore(await openStore(config), (op, s) => histogram.observe({ op }, s));
 * await store.getNode('n1'); // observed as op="getNode"
 * ```
 */
export function timedStore<T extends object>(target: T, observe: (op: string, seconds: number) => void, prefix = ''): T {
  const wrapped = new Map<string, unknown>();
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof prop !== 'string') return value;
      const known = wrapped.get(prop);
      if (known !== undefined) return known;
      let out = value;
      if (typeof value === 'function' && NOT_TIMED.has(prop)) {
        out = (...args: unknown[]): unknown => Reflect.apply(value, t, args);
      } else if (typeof value === 'function') {
        const op = `${prefix}${prop}`;
        out = (...args: unknown[]) => {
          const start = performance.now();
          const done = () => observe(op, (performance.now() - start) / 1000);
          const result: unknown = Reflect.apply(value, t, args);
          if (result instanceof Promise) result.then(done, done);
          else done();
          return result;
        };
      } else if (PARTS.has(prop) && typeof value === 'object' && value !== null && prefix === '') {
        out = timedStore(value, observe, `${prop}.`);
      } else {
        return value;
      }
      wrapped.set(prop, out);
      return out;
    },
  });
}
