/**
 * `failsmall rollout status ID | head -1`: the reader has gone, and the next write fails with
 * EPIPE. Without a listener that error is thrown as an uncaught 'error' event, a stack trace the
 * user did nothing to deserve. A closed reader means "enough": end quietly, with 0 for stdout
 * (the output that was wanted was delivered); for stderr, with the code the command already chose.
 */
let installed = false;

export function endQuietlyOnClosedPipe(): void {
  if (installed) return; // tests call main() many times in one process
  installed = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => onError(err, 0));
  process.stderr.on('error', (err: NodeJS.ErrnoException) => onError(err, undefined));
}

function onError(err: NodeJS.ErrnoException, code: number | undefined): void {
  if (err.code !== 'EPIPE') throw err; // anything else is a real fault: let it surface
  const exit = code ?? (typeof process.exitCode === 'number' ? process.exitCode : 0);
  process.exit(exit);
}
