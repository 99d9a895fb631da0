import { randomBytes, createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import {
  formatError, MAX_CLOCK_SKEW_MS, MAX_COMMAND_LIFETIME_MS, parseDuration, parseInventory, SAFE_NAME, signCommand, signVersion,
  type BreakglassAction, type BreakglassCommand, type InventoryNode,
} from '@failsmall/core';
import { fanOut, type NodeOutcome } from '../breakglass-fanout.ts';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';
import { clientFrom, parseLabels, readPrivateKey, type GlobalOpts } from './common.ts';
import { DEFAULT_KEY_DIR } from './keys.ts';

export interface BreakglassOpts {
  inventory?: string;
  key?: string;
  operator?: string;
  reason?: string;
  expires?: string;
  nodes?: string;
  where?: string;
  concurrency?: string;
  timeout?: string;
  viaFile?: string;
  content?: string;
  artifactSignature?: string;
  artifactKey?: string;
  json?: boolean;
}

/**
 * `failsmall breakglass ACTION TARGET [VERSION]`: signs an emergency command with the
 * break-glass key, on this machine, and carries it to every selected node's agent directly
 * (or drops it as a file with --via-file). It never talks to the control plane: it is the path
 * that works when the control plane, its database and its network path are all down.
 */
export async function breakglass(action: BreakglassAction, target: string, version: string | undefined, o: BreakglassOpts, out: Out): Promise<number> {
  if (!SAFE_NAME.test(target)) throw usage(`"${target}" is not an artifact or module name`);
  if (action === 'pin' && (!version || !SAFE_NAME.test(version))) throw usage('pin needs a version: failsmall breakglass pin ARTIFACT VERSION');
  const reason = (o.reason ?? (action === 'drill' ? 'break-glass drill' : undefined))?.trim();
  if (!reason) throw usage('--reason is required: it goes to every node\'s log, the control plane and the postmortem');
  const operator = (o.operator ?? process.env.FAILSMALL_OPERATOR ?? userInfo().username).trim();
  const ttl = parseDuration(o.expires ?? '15m');
  if (!ttl.ok) throw usage(`--expires: ${ttl.message}`);
  if (ttl.ms > MAX_COMMAND_LIFETIME_MS) throw usage(`--expires ${o.expires} is longer than agents accept (24h)`);
  const key = await readKey(o.key ?? join(DEFAULT_KEY_DIR, 'breakglass.key'), 'break-glass');
  const supplied = action === 'pin' && o.content ? await suppliedVersion(target, version as string, o) : undefined;
  if (o.content && action !== 'pin') throw usage('--content goes with pin only');

  const now = Date.now();
  const command = (nodes: string[]): BreakglassCommand => ({
    v: 1, action, nodes, target, ...(action === 'pin' ? { version } : {}), ...supplied,
    operator, reason, issued_at: new Date(now).toISOString(), expires_at: new Date(now + ttl.ms).toISOString(),
    nonce: randomBytes(18).toString('base64url'),
  });

  if (o.viaFile) {
    const ids = o.inventory ? select(await readInventory(o.inventory), o).map((n) => n.id) : listFlag(o.nodes);
    if (ids.length === 0) throw usage('--via-file needs the nodes: --inventory FILE, or --nodes a,b,c');
    const c = command(ids);
    const name = `breakglass-${new Date(now).toISOString().replace(/[:.]/g, '-')}-${c.nonce.slice(0, 8)}.json`;
    await mkdir(o.viaFile, { recursive: true });
    // Written under a dot-name and renamed: an agent scanning the directory never reads half a file.
    await writeFile(join(o.viaFile, `.${name}.tmp`), JSON.stringify(signCommand(key, c)), { mode: 0o644 });
    await rename(join(o.viaFile, `.${name}.tmp`), join(o.viaFile, name));
    out.data({ ok: true, file: join(o.viaFile, name), nodes: ids, action, target, nonce: c.nonce, expires_at: c.expires_at });
    out.line(`wrote ${join(o.viaFile, name)}: ${action} ${target}${version ? ` ${version}` : ''} for ${ids.length} node(s), valid until ${c.expires_at}`);
    out.line('distribute it to each node\'s --breakglass-dir (rsync, config management); agents carry it out once and log it. Check with: failsmall breakglass status --inventory FILE');
    return EXIT.OK;
  }

  if (!o.inventory) throw usage('--inventory FILE is required (or --via-file DIR)');
  const nodes = select(await readInventory(o.inventory), o);
  const results = await fanOut(nodes, (n) => ({ method: 'POST', path: '/v1/breakglass', body: JSON.stringify(signCommand(key, command([n.id]))) }), fanoutOptions(o, out));
  if (action === 'drill') return drillReport(results, target, out);
  return report(results, `${action} ${target}${version ? ` ${version}` : ''}`, out);
}

/** A minute short of the limits: a clock drifting that close is a problem before the incident is. */
const SKEW_MARGIN_MS = 60_000;
const DEFAULT_LIFETIME_MS = 15 * 60_000;

/**
 * What a node's clock skew does to real commands from this machine: a node behind by more than
 * the agents' allowance refuses them as not yet valid; one ahead by more than their lifetime
 * (the default 15 minutes) sees them already expired.
 */
export function skewProblem(skewMs: number | undefined): string | undefined {
  if (skewMs === undefined) return undefined;
  if (skewMs < -(MAX_CLOCK_SKEW_MS - SKEW_MARGIN_MS)) return `clock ${seconds(skewMs)} behind ours: commands from this machine are refused as not yet valid past ${MAX_CLOCK_SKEW_MS / 60_000} min`;
  if (skewMs > DEFAULT_LIFETIME_MS - SKEW_MARGIN_MS) return `clock ${seconds(skewMs)} ahead of ours: commands with the default ${DEFAULT_LIFETIME_MS / 60_000} min lifetime arrive expired`;
  return undefined;
}

/**
 * A drill's table: for each node, whether it verified the signed command, its clock against
 * ours, and for each artifact whether lkg and kill-switch would work. Ready means: it answered,
 * its clock is within the skew agents accept, and lkg would work for every artifact.
 */
function drillReport(results: NodeOutcome[], target: string, out: Out): number {
  const rows = results.map((r) => {
    const skew = skewProblem(r.skew_ms);
    const problems = [
      ...(r.outcome === 'confirmed' ? [] : [`${r.outcome}${r.code ? ` ${r.code}` : ''}: ${r.message}`]),
      ...(skew ? [skew] : []),
      ...(r.drill ?? []).filter((d) => !d.lkg.ok).map((d) => `${d.artifact}: lkg would fail: ${d.lkg.problem ?? '?'}`),
    ];
    return { ...r, ready: problems.length === 0, problems };
  });
  const ready = rows.filter((r) => r.ready).length;
  out.data({ ok: ready === rows.length, ready, total: rows.length, target, nodes: rows });
  if (!out.json) {
    const cells = rows.map((r) => {
      const d = r.drill ?? [];
      return [
        r.node, r.outcome === 'confirmed' ? 'yes' : `NO: ${r.outcome}${r.code ? ` ${r.code}` : ''}`, r.skew_ms === undefined ? '-' : seconds(r.skew_ms),
        d.map((x) => x.artifact).join('\n') || '-',
        d.map((x) => `${x.serving ?? '-'} (${x.state})${x.pinned ? `, pinned: ${x.pinned}` : ''}`).join('\n') || '-',
        d.map((x) => x.lkg.ok ? `ok: to ${x.lkg.version}` : `NO: ${(x.lkg.problem ?? '').slice(0, 60)}`).join('\n') || '-',
        d.map((x) => x.kill_switch.ok ? 'ok' : 'no safe default').join('\n') || '-',
      ];
    });
    out.line(renderTable(['node', 'verified', 'clock', 'artifact', 'serving', 'lkg', 'kill-switch'], cells));
    for (const r of rows.filter((x) => !x.ready)) out.line(`NOT READY ${r.node}: ${r.problems.join('; ')}`);
    out.line(`drill ${target}: ${ready} of ${rows.length} nodes ready; nothing was changed on any node`);
  }
  return ready === rows.length ? EXIT.OK : EXIT.INVALID;
}

function seconds(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(1)} s`;
}

/** `failsmall breakglass status --inventory FILE`: each node's pins, straight from its agent. */
export async function breakglassStatus(o: BreakglassOpts, out: Out): Promise<number> {
  if (!o.inventory) throw usage('--inventory FILE is required');
  const nodes = select(await readInventory(o.inventory), o);
  const results = await fanOut(nodes, () => ({ method: 'GET', path: '/v1/breakglass' }), fanoutOptions(o, out));
  const rows = results.map((r) => {
    const detail = (r as NodeOutcome & { detail?: { pins?: { artifact: string; version: string | null; action: string; operator: string }[]; serving?: Record<string, string | null>; polls?: number; ms_since_contact?: number } }).detail;
    // polls and ms_since_contact: whether the agent still follows its control plane (a pin holds against it).
    return { ...r, pins: detail?.pins ?? [], serving: detail?.serving ?? {}, polls: detail?.polls ?? null, ms_since_contact: detail?.ms_since_contact ?? null };
  });
  out.data({ ok: rows.every((r) => r.outcome === 'confirmed'), nodes: rows });
  if (!out.json) {
    out.line(renderTable(['node', 'address', 'answer', 'serving', 'pins'], rows.map((r) => [r.node, r.address, r.outcome === 'confirmed' ? 'ok' : `${r.outcome}: ${r.message}`,
      Object.entries(r.serving).map(([a, v]) => `${a}@${v ?? '-'}`).join('\n'),
      r.pins.map((p) => `${p.artifact}@${p.version ?? 'safe-default'} (${p.action} by ${p.operator})`).join('\n') || '-'])));
    out.line(`${rows.filter((r) => r.outcome === 'confirmed').length}/${rows.length} answered, ${rows.filter((r) => r.pins.length > 0).length} pinned`);
  }
  return rows.every((r) => r.outcome === 'confirmed') ? EXIT.OK : EXIT.INVALID;
}

interface LoggedEntry {
  node_id: string; seq: number; at: string; outcome: string; code?: string; message?: string; via?: string;
  action?: string; target?: string; version?: string; operator?: string; reason?: string;
  verified?: boolean; verification?: string; envelope_sha256?: string;
}

/**
 * `failsmall breakglass log`: what the nodes reported to the control plane of break-glass use, newest
 * first, and whether the control plane verified each record against the break-glass public key. Unlike
 * the other breakglass commands it asks the control plane: it is the record, not the recovery path.
 */
export async function breakglassLog(o: GlobalOpts & { node?: string; limit?: string }, out: Out): Promise<number> {
  const limit = o.limit === undefined ? 100 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw usage(`--limit ${o.limit}: a whole number from 1 to 5000`);
  if (o.node !== undefined && !SAFE_NAME.test(o.node)) throw usage(`--node "${o.node}" is not a node id`);
  const query = new URLSearchParams({ limit: String(limit), ...(o.node ? { node: o.node } : {}) });
  const res = await clientFrom(o).get<{ entries: LoggedEntry[] }>(`/v1/breakglass?${query.toString()}`);
  out.data({ ok: true, entries: res.entries });
  if (out.json) return EXIT.OK;
  for (const e of res.entries) {
    const what = e.action ? `${e.action} ${e.target ?? ''}${e.version ? ` ${e.version}` : ''} by ${e.operator ?? '?'}` : '(no signed command)';
    const outcome = `${e.outcome}${e.code ? ` ${e.code}` : ''}`;
    const trust = e.verified === true ? 'verified' : `UNVERIFIED (${e.verification ?? 'not verified'})`;
    out.line(`${e.at}  ${e.node_id}#${e.seq}  ${what}: ${outcome}  ${trust}${e.reason ? `  reason: ${e.reason.slice(0, 80)}` : ''}`);
  }
  const unverified = res.entries.filter((e) => e.verified !== true).length;
  out.line(`${res.entries.length} record(s)${unverified > 0 ? `, ${unverified} unverified: their operator and reason are only what the node said` : ', every one verified against the break-glass public key'}`);
  return EXIT.OK;
}

function fanoutOptions(o: BreakglassOpts, out: Out): Parameters<typeof fanOut>[2] {
  const concurrency = o.concurrency === undefined ? 32 : Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) throw usage(`--concurrency ${o.concurrency}: a whole number from 1 to 1024`);
  const timeout = parseDuration(o.timeout ?? '10s');
  if (!timeout.ok) throw usage(`--timeout: ${timeout.message}`);
  const tty = process.stderr.isTTY === true;
  return {
    concurrency, timeoutMs: timeout.ms,
    onDone: out.json ? undefined : (r, done, total) => {
      // Progress on stderr: one rewritten line on a terminal, a line per node in a log.
      if (tty) process.stderr.write(`\r${done}/${total} answered${done === total ? '\n' : ''}`);
      else process.stderr.write(`[${done}/${total}] ${r.node}: ${r.outcome}${r.outcome === 'confirmed' ? '' : ` (${r.message})`}\n`);
    },
  };
}

function report(results: NodeOutcome[], what: string, out: Out): number {
  const confirmed = results.filter((r) => r.outcome === 'confirmed').length;
  const all = confirmed === results.length;
  out.data({ ok: all, confirmed, total: results.length, nodes: results });
  if (!out.json) {
    out.line(renderTable(['node', 'address', 'result', 'serving now', 'detail'], results.map((r) => [r.node, r.address, r.outcome === 'confirmed' ? 'confirmed' : `${r.outcome.toUpperCase()}${r.code ? ` ${r.code}` : ''}`,
      (r.result ?? []).map((x) => `${x.artifact}@${x.serving ?? '-'} (${x.state})`).join('\n'), r.message.slice(0, 100)])));
    out.line(all ? `${what}: all ${results.length} nodes confirmed` : `${what}: ${confirmed} of ${results.length} nodes confirmed; ${results.length - confirmed} did NOT (see above)`);
  }
  return all ? EXIT.OK : EXIT.INVALID;
}

async function readInventory(path: string): Promise<InventoryNode[]> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read the inventory ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE);
  }
  const r = parseInventory(text, { file: path });
  if (!r.ok) throw new CliError('BAD_INVENTORY', `${path}: ${r.errors.length} error(s)\n${r.errors.map(formatError).join('\n')}`, EXIT.USAGE, 'fix the inventory; nothing was sent', { errors: r.errors });
  return [...r.value.nodes];
}

/** --nodes and --where narrow the inventory; naming a node that is not in it is an error, not a silent skip. */
function select(all: InventoryNode[], o: BreakglassOpts): InventoryNode[] {
  let nodes = all;
  const ids = listFlag(o.nodes);
  if (ids.length > 0) {
    const missing = ids.filter((id) => !all.some((n) => n.id === id));
    if (missing.length > 0) throw usage(`--nodes names ${missing.join(', ')}, not in the inventory`);
    nodes = nodes.filter((n) => ids.includes(n.id));
  }
  let where: Record<string, string>;
  try { where = parseLabels(o.where); } catch (err) { throw usage(`--where: ${(err as Error).message}`); }
  nodes = nodes.filter((n) => Object.entries(where).every(([k, v]) => n.labels[k] === v));
  if (nodes.length === 0) throw usage('no node of the inventory matches --nodes / --where');
  return nodes;
}

/** A version the node does not have: its bytes go with the command, signed by the artifact key (now, or earlier). */
async function suppliedVersion(artifact: string, version: string, o: BreakglassOpts): Promise<Pick<BreakglassCommand, 'content' | 'sha256' | 'artifact_signature'>> {
  let content: Buffer;
  try { content = await readFile(o.content as string); } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read --content ${o.content}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE);
  }
  const sha256 = createHash('sha256').update(content).digest('hex');
  let signature = o.artifactSignature;
  if (!signature && o.artifactKey) signature = signVersion(await readKey(o.artifactKey, 'artifact'), artifact, version, sha256);
  if (!signature) throw usage('--content needs the artifact key\'s signature: --artifact-signature SIG (from the push) or --artifact-key FILE');
  return { content: content.toString('base64'), sha256, artifact_signature: signature };
}

function readKey(path: string, what: 'break-glass' | 'artifact') {
  return readPrivateKey(path, {
    exitCode: EXIT.USAGE, unreadable: `cannot read the ${what} private key`,
    hint: what === 'break-glass' ? 'failsmall keys init --name breakglass writes one; keep it off the control plane' : 'the key failsmall keys init wrote',
  });
}

function listFlag(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function usage(message: string): CliError {
  return new CliError('USAGE', message, EXIT.USAGE);
}
