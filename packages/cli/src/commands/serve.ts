import { isLogLevel, parseNotifyTargets, readBreakglassPublicKey, startServer } from '@failsmall/server';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createPublicKey as createPublicKeyOf } from 'node:crypto';
import { nameProblem, parsePrivateKey, parsePublicKey } from '@failsmall/core';
import { EXIT } from '../exit-codes.ts';
import { defaultIfExists } from './common.ts';
import { DEFAULT_KEY_DIR } from './keys.ts';
import type { Out } from '../output.ts';
import { DEFAULT_ADMIN_TOKEN_FILE, writeAdminTokenFile } from './admin-token-file.ts';
import { cliVersion } from '../version.ts';

/**
 * `failsmall serve`: the control plane, until SIGINT/SIGTERM. The banner (what to export) is for
 * the person at the terminal, on stdout; the log is JSON lines on stderr (docs/operations.md#logs).
 */
export async function serve(opts: {
  store?: string; host?: string; port?: string; tickMs?: string; leaseMs?: string; replica?: string; log?: string; signingKey?: string; verifyKey?: string; validator?: string[]; breakglassPublicKey?: string; enrol?: string; prometheusUrl?: string; prometheusToken?: string; prometheusTimeout?: string;
  adminTokenFile?: string; notifyWebhook?: string[]; notifySecret?: string; notifySlack?: string[]; statuspage?: string[]; statuspageInterval?: string;
}, out: Out): Promise<number> {
  const port = opts.port === undefined ? 7070 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`error: bad --port ${opts.port} [USAGE]\n`);
    return EXIT.USAGE;
  }
  const signingKey = opts.signingKey ?? process.env.FAILSMALL_SIGNING_KEY ?? (await defaultIfExists(join(DEFAULT_KEY_DIR, 'artifact.key')));
  if (signingKey && (await isBreakglassKey(signingKey))) {
    process.stderr.write(`error: ${signingKey} is the break-glass key [BREAKGLASS_KEY_ON_CONTROL_PLANE]\n  hint: the break-glass key must never touch the control plane; sign versions with the artifact key (failsmall keys init)\n`);
    return EXIT.USAGE;
  }
  // The break-glass public key verifies what nodes report of break-glass use (docs/breakglass.md). The agent reads the
  // same environment variable: on any machine it names the one break-glass key the fleet trusts.
  const breakglassPub = opts.breakglassPublicKey ?? process.env.FAILSMALL_BREAKGLASS_PUBLIC_KEY ?? (await defaultIfExists(join(DEFAULT_KEY_DIR, 'breakglass.pub')));
  if (breakglassPub) {
    const text = await readFile(breakglassPub, 'utf8').catch((err: NodeJS.ErrnoException) => err);
    if (typeof text !== 'string') {
      process.stderr.write(`error: cannot read the break-glass public key ${breakglassPub}: ${text.code ?? text.message} [FILE_UNREADABLE]\n  hint: --breakglass-public-key FILE names the break-glass key's public half (failsmall keys init --name breakglass writes breakglass.pub)\n`);
      return EXIT.USAGE;
    }
    const key = readBreakglassPublicKey(text);
    if (!key.ok) {
      const hint = key.code === 'BREAKGLASS_PRIVATE_KEY' ? 'the private key stays with the people who run incidents, never on the control plane: give it breakglass.pub' : 'an ed25519 public key in PEM (breakglass.pub from failsmall keys init --name breakglass)';
      process.stderr.write(`error: --breakglass-public-key ${breakglassPub}: ${key.message} [${key.code}]\n  hint: ${hint}\n`);
      return EXIT.USAGE;
    }
    if (signingKey && (await isBreakglassKey(signingKey, breakglassPub))) {
      process.stderr.write(`error: ${signingKey} is the break-glass key [BREAKGLASS_KEY_ON_CONTROL_PLANE]\n  hint: the break-glass key must never touch the control plane; sign versions with the artifact key (failsmall keys init)\n`);
      return EXIT.USAGE;
    }
  }
  const notify = parseNotifyTargets({ webhook: opts.notifyWebhook ?? [], webhookSecret: opts.notifySecret ?? process.env.FAILSMALL_NOTIFY_SECRET, slack: opts.notifySlack ?? [] });
  if (!notify.ok) {
    for (const e of notify.errors) process.stderr.write(`error: ${e.message} [${e.code}]${e.hint ? `\n  hint: ${e.hint}` : ''}\n`);
    return EXIT.USAGE;
  }
  const statuspages: { name: string; url: string }[] = [];
  for (const s of opts.statuspage ?? []) {
    const eq = s.indexOf('=');
    const url = s.slice(eq + 1);
    if (eq <= 0 || !/^https?:\/\//.test(url)) {
      process.stderr.write(`error: bad --statuspage "${s}" [USAGE]\n  hint: NAME=URL, e.g. --statuspage github=https://www.githubstatus.com\n`);
      return EXIT.USAGE;
    }
    statuspages.push({ name: s.slice(0, eq), url });
  }
  const validators: Record<string, string> = {};
  for (const v of opts.validator ?? []) {
    const eq = v.indexOf('=');
    const name = v.slice(0, eq);
    if (eq <= 0 || nameProblem(name) !== undefined || v.slice(eq + 1).trim() === '') {
      process.stderr.write(`error: bad --validator "${v}" [USAGE]\n  hint: ARTIFACT=COMMAND, e.g. --validator waf-rules='./bin/check-waf-rules'\n`);
      return EXIT.USAGE;
    }
    validators[name] = v.slice(eq + 1);
  }
  const leaseMs = opts.leaseMs === undefined ? undefined : Number(opts.leaseMs);
  if (leaseMs !== undefined && (!Number.isInteger(leaseMs) || leaseMs < 1000 || leaseMs > 600_000)) {
    process.stderr.write(`error: bad --lease-ms "${opts.leaseMs}" [USAGE]\n  hint: milliseconds from 1000 to 600000; a dead replica's rollouts move again within it (default 10000)\n`);
    return EXIT.USAGE;
  }
  if (opts.replica !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/.test(opts.replica)) {
    process.stderr.write(`error: bad --replica "${opts.replica}" [USAGE]\n  hint: 1-100 of A-Z a-z 0-9 . _ : / -, unique among the replicas of one store (default: host/pid/random)\n`);
    return EXIT.USAGE;
  }
  const prometheusUrl = opts.prometheusUrl ?? process.env.FAILSMALL_PROMETHEUS_URL;
  const prometheusToken = opts.prometheusToken ?? process.env.FAILSMALL_PROMETHEUS_TOKEN;
  const tokenFile = opts.adminTokenFile ?? DEFAULT_ADMIN_TOKEN_FILE;
  let written: Awaited<ReturnType<typeof writeAdminTokenFile>> | undefined;
  const server = await startServer({
    // Written before the server listens: a script that waits for it to answer (failsmall health --wait) finds the file.
    ...(tokenFile !== '-' ? { onAdminToken: async (t: string) => { written = await writeAdminTokenFile(tokenFile, t); } } : {}),
    ...(signingKey ? { signingKeyFile: signingKey } : {}),
    ...(opts.verifyKey ? { verifyKeyFile: opts.verifyKey } : {}),
    ...(breakglassPub ? { breakglassPublicKeyFile: breakglassPub } : {}),
    enrolment: opts.enrol === 'open' ? 'open' : 'approval',
    validators,
    ...(prometheusUrl ? { prometheus: { url: prometheusUrl, timeoutMs: Number(opts.prometheusTimeout ?? '5000'), ...(prometheusToken ? { bearerToken: prometheusToken } : {}) } } : {}),
    store: opts.store ?? process.env.FAILSMALL_STORE ?? '.failsmall/failsmall.db',
    host: opts.host ?? '127.0.0.1',
    port,
    ...(opts.tickMs ? { tickMs: Number(opts.tickMs) } : {}),
    ...(leaseMs !== undefined ? { leaseMs } : {}),
    ...(opts.replica !== undefined ? { replica: opts.replica } : {}),
    ...(notify.targets.length > 0 ? { notifyTargets: notify.targets } : {}),
    ...(statuspages.length > 0 ? { statuspages, statuspageIntervalMs: Number(opts.statuspageInterval ?? '60000') } : {}),
    log: opts.log !== undefined && isLogLevel(opts.log) ? opts.log : 'info',
    version: cliVersion(),
  });
  out.data({ ok: true, url: server.url, store: server.store.engine, admin_token: server.adminToken ?? null, admin_token_file: written?.ok ? written.path : null, breakglass_public_key: breakglassPub ?? null });
  out.line(`failsmall control plane on ${server.url} (store: ${server.store.engine})`);
  if (prometheusUrl) out.line(`gates with source: prometheus read ${prometheusUrl}`);
  if (opts.enrol === 'open') out.line('enrolment is OPEN: every node that registers with the fleet token counts in rollouts and gates (labs only; docs/security.md)');
  out.line(signingKey ? `signing every version pushed unsigned with ${signingKey}`
    : opts.verifyKey ? `offline signing: pushes must carry a signature that verifies under ${opts.verifyKey}; unsigned ones are refused`
      : 'no signing key (failsmall keys init, then serve --signing-key): versions are stored unsigned and agents with a public key refuse them');
  for (const [name, command] of Object.entries(validators)) out.line(`validator for ${name}: ${command}`);
  out.line(breakglassPub
    ? `break-glass reports are verified against ${breakglassPub}: a node's report of a command the break-glass key did not sign is not stored`
    : 'break-glass reports are NOT verified (no break-glass public key; serve --breakglass-public-key FILE): they are stored marked unverified');
  // Both variables the CLI reads, so that the next command in another shell reaches this server
  // (a new user once exported the token only, and the CLI went to the default :7070).
  // The login link carries the token in the fragment, which browsers never send (docs/dashboard.md).
  out.line(server.adminToken ? `the dashboard: ${server.url}/#token=${server.adminToken}    # signs in as admin` : `the dashboard: ${server.url}/    (sign in with your token)`);
  out.line('for the CLI in another shell:');
  out.line(`  export FAILSMALL_SERVER=${server.url}`);
  if (server.adminToken) out.line(`  export FAILSMALL_TOKEN=${server.adminToken}    # the admin token: shown once, only its hash is stored`);
  if (written?.ok) out.line(`  # or: export FAILSMALL_TOKEN_FILE=${written.path}    (the same token, 0600; delete it once you have made named admin tokens)`);
  if (written && !written.ok) process.stderr.write(`warning: could not write the admin token to ${written.message}; it is shown above only [ADMIN_TOKEN_FILE]\n`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  out.line(`stopping on ${signal}: finishing requests, closing the store`);
  await server.close({ signal });
  out.line('failsmall control plane stopped');
  return EXIT.OK;
}

/**
 * True when `path` is the private half of the break-glass key next to it (breakglass.pub in the
 * key directory), or of the one given to --breakglass-public-key: a control plane given that key
 * would share fate with the recovery path.
 */
async function isBreakglassKey(path: string, breakglassPub?: string): Promise<boolean> {
  const key = parsePrivateKey(await readFile(path, 'utf8').catch(() => ''));
  if (!key.ok) return false;
  for (const pubPath of new Set([join(DEFAULT_KEY_DIR, 'breakglass.pub'), join(dirname(path), 'breakglass.pub'), ...(breakglassPub ? [breakglassPub] : [])])) {
    const pub = parsePublicKey(await readFile(pubPath, 'utf8').catch(() => ''));
    if (pub.ok && createPublicKeyOf(key.key).equals(pub.key)) return true;
  }
  return false;
}
