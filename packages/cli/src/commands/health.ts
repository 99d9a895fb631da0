import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { clientFrom, type GlobalOpts } from './common.ts';
import { pollUntil, waitMs } from './wait.ts';
import { CliError } from '../client.ts';

/**
 * `failsmall health [--wait 30s]`: whether the control plane answers (GET /healthz, no token
 * needed). With --wait it keeps asking until it does, so a script can start `failsmall serve &`
 * and go on when it is up.
 */
export async function health(opts: GlobalOpts & { wait?: string }, out: Out): Promise<number> {
  // No token: /healthz is public, and a script may ask before serve has written the admin token's file.
  const client = clientFrom(opts, { anonymous: true });
  const ms = waitMs('--wait', opts.wait, 0);
  const res = await pollUntil(ms, () => client.get<{ ok: boolean; store: string }>('/healthz'),
    () => new CliError('UNREACHABLE', `the control plane at ${client.server} did not answer`, EXIT.UNREACHABLE));
  out.data({ ok: true, server: client.server, store: res.store });
  out.line(`the control plane at ${client.server} answers (store: ${res.store})`);
  return EXIT.OK;
}
