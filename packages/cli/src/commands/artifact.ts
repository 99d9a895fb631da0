import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { formatError, MANIFEST_LIMITS, nameProblem, parseManifest, signSafeDefault, signVersion, type VersionManifest } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';
import { clientFrom, readPrivateKey, type GlobalOpts } from './common.ts';

interface PushResponse {
  version: { artifact: string; version: string; sha256: string; size: number; forced: boolean; signature: string | null; manifest: VersionManifest | null };
  created: boolean;
  problems: { message: string }[];
  warnings: string[];
}

/** `failsmall artifact push NAME FILE [--version V] [--force] [--sign KEY | --signature SIG] [--manifest FILE]` */
export async function artifactPush(name: string, file: string, opts: GlobalOpts & { version?: string; force?: boolean; sign?: string; signature?: string; manifest?: string }, out: Out): Promise<number> {
  const bytes = await readContent(file);
  if (opts.sign && opts.signature) throw new CliError('USAGE', 'give --sign KEY or --signature SIG, not both', EXIT.USAGE);
  if (opts.signature) {
    if (!opts.version) throw new CliError('USAGE', '--signature needs --version: the signature covers the version label', EXIT.USAGE);
    if (!ED25519_BASE64.test(opts.signature)) throw new CliError('BAD_SIGNATURE', '--signature is not an ed25519 signature (88 characters of base64)', EXIT.INVALID, 'pass what failsmall artifact sign printed, unchanged');
  }
  const q = new URLSearchParams();
  if (opts.version) q.set('version', opts.version);
  if (opts.force) q.set('force', 'true');
  const headers: Record<string, string> = {};
  if (opts.manifest) headers['x-failsmall-manifest'] = await manifestHeader(opts.manifest, out);
  if (opts.sign) {
    if (!opts.version) throw new CliError('USAGE', '--sign needs --version: the signature covers the version label', EXIT.USAGE);
    const key = await readPrivateKey(opts.sign, { exitCode: EXIT.INVALID, unreadable: 'cannot read', hint: 'failsmall keys init writes one' });
    headers['x-failsmall-signature'] = signVersion(key, name, opts.version, createHash('sha256').update(bytes).digest('hex'));
  }
  if (opts.signature) headers['x-failsmall-signature'] = opts.signature;
  const res = await clientFrom(opts).postBytes<PushResponse>(`/v1/artifacts/${encodeURIComponent(name)}/versions?${q}`, bytes, headers);
  out.data({ ok: true, ...res });
  const v = res.version;
  out.line(`${v.artifact}@${v.version}: ${res.created ? 'pushed' : 'already there (same sha256)'} — ${v.size} bytes, sha256 ${v.sha256}${v.forced ? ' (FORCED past its limits)' : ''}`);
  for (const p of res.problems) out.line(`  warning: ${p.message}`);
  for (const w of res.warnings ?? []) out.line(`  warning: ${w}`);
  out.line(`  signature: ${v.signature ? 'ed25519, verified by agents before apply' : 'NONE'}`);
  out.line(`  manifest: ${v.manifest ? describeManifest(v.manifest) : 'none (the dependency gate sees no dependencies)'}`);
  return EXIT.OK;
}

const ED25519_BASE64 = /^[A-Za-z0-9+/]{86}==$/;

async function readContent(file: string): Promise<Buffer> {
  try { return await readFile(file); } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.INVALID, 'check the path');
  }
}

function checkName(what: string, name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new CliError('BAD_NAME', `${what} "${name.slice(0, 80)}": ${problem}`, EXIT.USAGE);
}

/**
 * `failsmall artifact sign NAME FILE --version V --key KEY`: the signature a push carries, made
 * where the key lives (a signing host, a CI job with the key in its vault), so the control plane
 * can run with --verify-key only and never hold the private key. Needs no server.
 */
export async function artifactSign(name: string, file: string, opts: { version?: string; key: string }, out: Out): Promise<number> {
  checkName('artifact', name);
  if (!opts.version) throw new CliError('USAGE', '--version is required: the signature covers the version label', EXIT.USAGE);
  const bytes = await readContent(file);
  const key = await readPrivateKey(opts.key, { exitCode: EXIT.INVALID, unreadable: 'cannot read', hint: 'failsmall keys init writes one' });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const signature = signVersion(key, name, opts.version, sha256);
  out.data({ ok: true, artifact: name, version: opts.version, sha256, signature });
  out.line(signature);
  return EXIT.OK;
}

/**
 * `failsmall artifact sign-default MODULE FILE --key KEY`: signs a module's safe default (the
 * file's text, exactly as it goes into safe_default) and prints the line to add under the module.
 */
export async function artifactSignDefault(module: string, file: string, opts: { key: string }, out: Out): Promise<number> {
  checkName('module', module);
  const text = (await readContent(file)).toString('utf8');
  const key = await readPrivateKey(opts.key, { exitCode: EXIT.INVALID, unreadable: 'cannot read', hint: 'failsmall keys init writes one' });
  const signature = signSafeDefault(key, module, text);
  out.data({ ok: true, module, signature });
  out.line(`safe_default_signature: ${signature}`);
  return EXIT.OK;
}

/** Reads and checks a manifest file here, so a mistake gets file:line:col; sends it as compact ASCII JSON. */
async function manifestHeader(file: string, out: Out): Promise<string> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.INVALID, 'check the path');
  }
  const parsed = parseManifest(text, { file });
  if (!out.json) for (const w of parsed.warnings) process.stderr.write(`${formatError(w)}\n`);
  if (!parsed.ok) throw new CliError('BAD_MANIFEST', `${parsed.errors.length} error(s) in ${file}`, EXIT.INVALID, undefined, { errors: parsed.errors });
  const edges = parsed.value.depends_on.map((e) => ({ on: e.on, hard: e.hard, ...(e.fallback !== undefined ? { fallback: e.fallback } : {}) }));
  // HTTP header values are bytes; escaping past ASCII keeps every fallback sentence intact.
  const json = JSON.stringify({ depends_on: edges }).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (json.length > MANIFEST_LIMITS.json_bytes) {
    throw new CliError('BAD_MANIFEST', `${file} is ${json.length} bytes as JSON; a manifest travels in one header, at most ${MANIFEST_LIMITS.json_bytes} bytes`, EXIT.INVALID, 'shorten the fallback sentences, or list only what this version calls directly');
  }
  return json;
}

/** `bot-check (hard), session-store (soft: read-only cached sessions)` */
function describeManifest(m: VersionManifest): string {
  if (m.depends_on.length === 0) return 'depends on nothing';
  return `depends on ${m.depends_on.map((e) => `${e.on} (${e.hard ? 'hard' : e.fallback?.trim() ? `soft: ${e.fallback}` : 'soft, NO fallback'})`).join(', ')}`;
}

/** `failsmall artifact list` */
export async function artifactList(opts: GlobalOpts, out: Out): Promise<number> {
  const res = await clientFrom(opts).get<{ artifacts: { name: string; kind: string; module: string; current_version: string | null }[] }>('/v1/artifacts');
  out.data({ ok: true, ...res });
  if (res.artifacts.length === 0) out.line('no artifacts declared yet (failsmall apply FILE)');
  else out.line(renderTable(['artifact', 'kind', 'module', 'current'], res.artifacts.map((a) => [a.name, a.kind, a.module, a.current_version ?? '(none)'])));
  return EXIT.OK;
}
