/**
 * A count with its noun, singular for one.
 *
 * Examples
 *   plural(1, 'entry', 'entries') // '1 entry'
 *   plural(3, 'cycle')            // '3 cycles'
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
