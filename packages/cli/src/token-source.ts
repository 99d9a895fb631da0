import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './client.ts';
import { EXIT } from './exit-codes.ts';

/**
 * Where a token comes from, so that it need never be a flag (flags show in `ps` to every user
 * of the machine): `--token`, else FAILSMALL_TOKEN, else the file named by FAILSMALL_TOKEN_FILE,
 * else ~/.config/failsmall/token when it exists. A token file must be the owner's alone
 * (mode 0600 or stricter), as ssh insists for keys: a file others can read is refused.
 */
export function resolveToken(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return flag;
  if (env.FAILSMALL_TOKEN) return env.FAILSMALL_TOKEN;
  const named = env.FAILSMALL_TOKEN_FILE;
  const path = named ?? join(env.HOME ?? homedir(), '.config', 'failsmall', 'token');
  let mode: number;
  try { mode = statSync(path).mode; } catch (err) {
    if (named === undefined) return undefined;
    throw new CliError('FILE_UNREADABLE', `token file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE, 'FAILSMALL_TOKEN_FILE names a file holding one token');
  }
  if ((mode & 0o077) !== 0) {
    throw new CliError('TOKEN_FILE_OPEN', `token file ${path} can be read by others (mode ${(mode & 0o777).toString(8)})`, EXIT.USAGE, `chmod 600 ${path}`);
  }
  const token = readFileSync(path, 'utf8').trim();
  if (!token) throw new CliError('TOKEN_FILE_EMPTY', `token file ${path} is empty`, EXIT.USAGE, 'put the token printed by failsmall token create in it');
  return token;
}
