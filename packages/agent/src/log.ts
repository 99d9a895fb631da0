/** Where the agent and its parts write what they do: the CLI prints it, the SDK passes its own. */
export interface AgentLog {
  info(msg: string): void;
  warn(msg: string): void;
  error?(msg: string): void;
}

export const silentLog: AgentLog = { info() {}, warn() {} };

/** The error line of a log, falling back to warn for a log with no error level. */
export function errorOf(log: AgentLog): (msg: string) => void {
  return (m) => (log.error ?? log.warn).call(log, m);
}
