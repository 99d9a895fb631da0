import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, type ScrapeTarget } from '@failsmall/agent';
import { defaultModuleMapping, parseScrapeMapping } from '@failsmall/core';
import { CliError } from '../client.ts';
import { resolveAgentToken } from '../token-source.ts';
import { DEFAULT_KEY_DIR } from './keys.ts';

import { EXIT } from '../exit-codes.ts';
import { defaultIfExists, parseLabels } from './common.ts';
import { syntheticTraffic } from '../traffic.ts';

export interface AgentCliOpts {
  server?: string;
  token?: string;
  nodeId: string;
  labels?: string;
  modules?: string;
  dir?: string;
  reload?: string[];
  pollWait?: string;
  metricsInterval?: string;
  syntheticTraffic?: string;
  syntheticErrorRate?: string;
  publicKey?: string;
  allowUnsigned?: boolean;
  reloadUrl?: string[];
  validator?: string[];
  stop?: string[];
  safeDefault?: string[];
  metricsListen?: string;
  scrape?: string[];
  scrapeMap?: string;
  breakglassPublicKey?: string;
  adminListen?: string;
  adminAllow?: string;
  breakglassDir?: string;
}

/** `--flag KEY=VALUE` repeated → record; a malformed one is a usage error naming the flag. */
function pairs(flag: string, values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of values ?? []) {
    const eq = r.indexOf('=');
    if (eq <= 0) throw new CliError('USAGE', `bad ${flag} "${r}": use NAME=VALUE`, EXIT.USAGE);
    out[r.slice(0, eq)] = r.slice(eq + 1);
  }
  return out;
}

/** `failsmall agent --server URL --node-id ID --labels k=v,...`: runs until SIGINT/SIGTERM. */
export async function agent(o: AgentCliOpts): Promise<number> {
  const token = resolveAgentToken(o.token);
  if (!token) {
    process.stderr.write('error: the agent needs a token [UNAUTHENTICATED]\n  hint: failsmall token create --name fleet --role join --expires 24h, then set FAILSMALL_AGENT_TOKEN (or FAILSMALL_AGENT_TOKEN_FILE)\n');
    return EXIT.USAGE;
  }
  const reload = pairs('--reload', o.reload);
  const modules = o.modules ? o.modules.split(',').map((m) => m.trim()).filter(Boolean) : [];
  const scrapes = await scrapeTargets(o, modules);
  const safeDefaults: Record<string, string> = {};
  for (const [module, file] of Object.entries(pairs('--safe-default', o.safeDefault))) {
    try { safeDefaults[module] = await readFile(file, 'utf8'); } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read the safe default ${file} for ${module}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE);
    }
  }
  const publicKeyPath = o.publicKey ?? process.env.FAILSMALL_PUBLIC_KEY ?? (await defaultIfExists(join(DEFAULT_KEY_DIR, 'artifact.pub')));
  let publicKey: string | undefined;
  if (publicKeyPath) {
    try { publicKey = await readFile(publicKeyPath, 'utf8'); } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read the public key ${publicKeyPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE, 'failsmall keys init writes one');
    }
  } else if (!o.allowUnsigned) {
    process.stderr.write('warning: no --public-key: every version will be refused as unverifiable (pass --public-key FILE, or --allow-unsigned for development)\n');
  }
  const log = jsonLog(o.nodeId);
  const breakglassKeyPath = o.breakglassPublicKey ?? process.env.FAILSMALL_BREAKGLASS_PUBLIC_KEY ?? (await defaultIfExists(join(DEFAULT_KEY_DIR, 'breakglass.pub')));
  let breakglassKey: string | undefined;
  if (breakglassKeyPath) {
    try { breakglassKey = await readFile(breakglassKeyPath, 'utf8'); } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read the break-glass public key ${breakglassKeyPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE, 'failsmall keys init --name breakglass writes one');
    }
  } else {
    if (o.adminListen || o.breakglassDir) throw new CliError('USAGE', '--admin-listen and --breakglass-dir need --breakglass-public-key', EXIT.USAGE, 'failsmall keys init --name breakglass, then give the .pub to every agent');
    log.warn('break-glass is off: no --breakglass-public-key (failsmall keys init --name breakglass)');
  }
  const rps = o.syntheticTraffic ? Number(o.syntheticTraffic) : 0;
  const metricsIntervalMs = o.metricsInterval ? Number(o.metricsInterval) : 5000;
  let refused: () => void = () => {};
  const tokenRefused = new Promise<'refused'>((resolve) => { refused = () => resolve('refused'); });
  const a = new Agent({
    server: o.server ?? process.env.FAILSMALL_SERVER ?? 'http://127.0.0.1:7070',
    nodeId: o.nodeId, labels: parseLabels(o.labels), modules, token, reload,
    safeDefaults, reloadUrls: pairs('--reload-url', o.reloadUrl), validators: pairs('--validator', o.validator), stopCommands: pairs('--stop', o.stop),
    ...(publicKey ? { publicKey } : {}), ...(o.allowUnsigned ? { allowUnsigned: true } : {}),
    ...(o.metricsListen ? { metricsListen: o.metricsListen } : {}),
    ...(scrapes.length > 0 ? { scrapes } : {}),
    ...(breakglassKey ? {
      breakglass: {
        publicKey: breakglassKey, ...(publicKey ? { artifactPublicKey: publicKey } : {}),
        ...(o.adminListen ? { listen: o.adminListen } : {}),
        ...(o.adminAllow ? { allow: o.adminAllow.split(',').map((c) => c.trim()).filter(Boolean) } : {}),
        ...(o.breakglassDir ? { watchDir: o.breakglassDir } : {}),
      },
    } : {}),
    dir: o.dir ?? `.failsmall/agent-${o.nodeId}`,
    pollWaitMs: o.pollWait ? Number(o.pollWait) : 30_000,
    metricsIntervalMs,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
    onTokenRefused: () => refused(),
    ...(rps > 0 ? { onInterval: syntheticTraffic({ rps, intervalMs: metricsIntervalMs, errorRate: Number(o.syntheticErrorRate ?? '0.001'), modules: modules.length ? modules : ['default'], seed: o.nodeId }) } : {}),
  });
  await a.start();
  log.info(`agent ${o.nodeId} started; serving from ${o.dir ?? `.failsmall/agent-${o.nodeId}`}`);
  const ended = await Promise.race([
    new Promise<'signal'>((resolve) => {
      process.once('SIGINT', () => resolve('signal'));
      process.once('SIGTERM', () => resolve('signal'));
    }),
    tokenRefused,
  ]);
  await a.stop();
  // The agent already logged why; the distinct code lets systemd or a supervisor tell a bad token from a crash.
  return ended === 'refused' ? EXIT.TOKEN_REFUSED : EXIT.OK;
}

/**
 * `--scrape MODULE=URL` (repeatable) and `--scrape-map FILE`, checked before the agent starts:
 * a bad URL, a module the node does not run or a mapping error stops it with a clear message.
 */
async function scrapeTargets(o: AgentCliOpts, modules: readonly string[]): Promise<ScrapeTarget[]> {
  const urls = pairs('--scrape', o.scrape);
  let mapped: Record<string, ScrapeTarget['mapping']> = {};
  if (o.scrapeMap !== undefined) {
    let text: string;
    try { text = await readFile(o.scrapeMap, 'utf8'); } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read the scrape mapping ${o.scrapeMap}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE);
    }
    const parsed = parseScrapeMapping(text, { file: o.scrapeMap });
    if (!parsed.ok) throw new CliError('INVALID_SCRAPE_MAP', `${o.scrapeMap} is not a valid scrape mapping`, EXIT.INVALID, undefined, { errors: parsed.errors });
    mapped = { ...parsed.value.modules };
    if (Object.keys(urls).length === 0) throw new CliError('USAGE', '--scrape-map needs at least one --scrape MODULE=URL', EXIT.USAGE, 'e.g. --scrape proxy=http://127.0.0.1:8080/metrics');
  }
  return Object.entries(urls).map(([module, url]) => {
    let parsedUrl: URL | undefined;
    try { parsedUrl = new URL(url); } catch { /* reported below */ }
    if (!parsedUrl || (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:')) {
      throw new CliError('USAGE', `bad --scrape "${module}=${url}": ${url} is not an http(s) URL`, EXIT.USAGE, 'e.g. --scrape proxy=http://127.0.0.1:8080/metrics');
    }
    if (modules.length > 0 && !modules.includes(module)) {
      throw new CliError('USAGE', `bad --scrape "${module}=${url}": this node runs no module ${module} (--modules ${modules.join(',')})`, EXIT.USAGE, 'the name before = is the module whose gates read these metrics');
    }
    return { module, url, mapping: mapped[module] ?? defaultModuleMapping() };
  });
}

/**
 * One JSON line per event on stderr, in pino's shape (level, time, node, msg), written with a
 * plain synchronous write. The agent runs on every node and logs a few lines an hour: pino and
 * its stream machinery cost more resident memory than they save here (docs/benchmarks.md).
 */
function jsonLog(node: string): { info(m: string): void; warn(m: string): void; error(m: string): void } {
  const write = (level: number, msg: string) => { process.stderr.write(`${JSON.stringify({ level, time: Date.now(), node, msg })}\n`); };
  return { info: (m) => write(30, m), warn: (m) => write(40, m), error: (m) => write(50, m) };
}
