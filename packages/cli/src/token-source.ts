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

/** Roles whose tokens belong to people or to alert senders: an agent must never run with one. */
const NOT_FOR_AGENTS = ['admin', 'deployer', 'approver', 'viewer', 'ingest'];

/**
 * The agent's token: `--token`, else FAILSMALL_AGENT_TOKEN, else FAILSMALL_AGENT_TOKEN_FILE, else
 * what any command reads (resolveToken). An agent's own variables come first because an operator's
 * shell often exports FAILSMALL_TOKEN(_FILE) for the admin CLI; an agent started from that shell
 * once fell back to the admin token. A person's token (its prefix names its role) is refused.
 */
export function resolveAgentToken(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { FAILSMALL_AGENT_TOKEN, FAILSMALL_AGENT_TOKEN_FILE } = env;
  const [token, from] = flag ? [flag, '--token']
    : FAILSMALL_AGENT_TOKEN ? [FAILSMALL_AGENT_TOKEN, 'FAILSMALL_AGENT_TOKEN']
      : FAILSMALL_AGENT_TOKEN_FILE ? [resolveToken(undefined, { HOME: env.HOME, FAILSMALL_TOKEN_FILE: FAILSMALL_AGENT_TOKEN_FILE }), 'FAILSMALL_AGENT_TOKEN_FILE']
        : [resolveToken(undefined, env), env.FAILSMALL_TOKEN ? 'FAILSMALL_TOKEN' : env.FAILSMALL_TOKEN_FILE ? 'FAILSMALL_TOKEN_FILE' : '~/.config/failsmall/token'];
  const role = /^fs_([a-z]+)_/.exec(token ?? '')?.[1];
  if (token !== undefined && role !== undefined && NOT_FOR_AGENTS.includes(role)) {
    throw new CliError('NOT_AN_AGENT_TOKEN', `the token from ${from} is a${role === 'admin' ? 'n' : ''} ${role} token: an agent runs with a join or agent token`, EXIT.TOKEN_REFUSED,
      'failsmall token create --name fleet --role join --expires 24h, then give it to the agent as FAILSMALL_AGENT_TOKEN (or --token)');
  }
  return token;
}
