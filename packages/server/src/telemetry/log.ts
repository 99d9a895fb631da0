import { pino, type Logger } from 'pino';

/** The levels `--log` takes, quietest last. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * The control plane's logger: JSON lines on stderr for log shippers, one readable line per
 * entry when stderr is a terminal (a person running `failsmall serve` by hand). Writes are
 * synchronous, so the shutdown line is out before the process exits.
 *
 * Examples
 * ```ts
 * const log = serverLog({ level: 'info' });               // JSON, or pretty on a TTY
 * const quiet = serverLog({ level: 'warn', pretty: false });
 * ```
 */
export function serverLog(o: { level: LogLevel; pretty?: boolean; destination?: { write(line: string): unknown } }): Logger {
  const pretty = o.pretty ?? process.stderr.isTTY === true;
  const out = o.destination ?? pino.destination({ dest: 2, sync: true });
  return pino({ level: o.level }, pretty ? { write: (line: string) => out.write(prettyLine(line)) } : out);
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const NOT_SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err']);

/**
 * One pino JSON line as a person reads it: time, level, message, then key=value.
 *
 * Examples
 * ```ts
 * prettyLine('{"level":30,"time":0,"msg":"rollout promoted","rollout":"r1"}\n')
 * // '00:00:00.000 INFO  rollout promoted rollout=r1\n'
 * ```
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try { entry = JSON.parse(json) as Record<string, unknown>; } catch { return json; }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry).filter(([k]) => !NOT_SHOWN.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const err = entry.err as { stack?: unknown } | undefined;
  const stack = typeof err?.stack === 'string' ? `\n${err.stack}` : '';
  return `${[time, level, String(entry.msg ?? ''), ...fields].join(' ')}${stack}\n`;
}
